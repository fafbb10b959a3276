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
hw_add_test(NAME jpeg-scan SOURCES jpeg/test_jpeg_scan.c jpeg/scan_diff.c jpeg/jpeg_gen.c
            LABELS unit)
target_include_directories(jpeg-scan PRIVATE ${CMAKE_SOURCE_DIR}/hashlib/src
                           ${CMAKE_SOURCE_DIR}/hashlib/include/hashlib)
# Differential fuzz target: whatever our entropy decoder accepts, libjpeg decodes cleanly to the
# same coefficients. The replay runs its corpus (and regress/jpeg_scan) in every test run.
hw_add_fuzz(NAME jpeg_scan SOURCE fuzz/fuzz_jpeg_scan.c)
foreach(t jpeg_scan-replay jpeg_scan-libfuzzer)
    if(TARGET ${t})
        target_sources(${t} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/jpeg/scan_diff.c)
        target_include_directories(${t} PRIVATE ${CMAKE_SOURCE_DIR}/hashlib/src
                                   ${CMAKE_SOURCE_DIR}/hashlib/include/hashlib)
    endif()
endforeach()
