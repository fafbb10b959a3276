# jpeg.cmake: JPEG decoder tests: fast path == full decode, hostile inputs.
# The tests reach the internal HW_JPEG_FAST_ONLY flag (jpeg_fast.h) through hashlib's private dirs.
hw_add_test(NAME jpeg-fast-exact SOURCES jpeg/test_jpeg_fast.c jpeg/jpeg_gen.c LABELS unit
            TIMEOUT 900)
target_include_directories(jpeg-fast-exact PRIVATE ${CMAKE_SOURCE_DIR}/hashlib/src
                           ${CMAKE_SOURCE_DIR}/hashlib/include/hashlib)
hw_add_test(NAME jpeg-hostile SOURCES jpeg/test_jpeg_hostile.c jpeg/jpeg_gen.c LABELS unit)
target_include_directories(jpeg-hostile PRIVATE ${CMAKE_SOURCE_DIR}/hashlib/src
                           ${CMAKE_SOURCE_DIR}/hashlib/include/hashlib)
hw_add_test(NAME jpeg-point-idct SOURCES jpeg/test_jpeg_idct.c jpeg/jpeg_gen.c LABELS unit)
target_include_directories(jpeg-point-idct PRIVATE ${CMAKE_SOURCE_DIR}/hashlib/src
                           ${CMAKE_SOURCE_DIR}/hashlib/include/hashlib)
