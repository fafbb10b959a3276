# decode.cmake: PNG decoder, EXIF orientation, hostile inputs, regression replay, fuzz target.
hw_add_test(NAME decode-png SOURCES decode/test_png.c decode/png_gen.c LABELS unit)
hw_add_test(NAME decode-hostile SOURCES decode/test_hostile.c decode/png_gen.c LABELS unit)
# Separate process: it measures its own peak RSS while decoding a 12000x12000 PNG.
hw_add_test(NAME decode-bigpng SOURCES decode/test_bigpng.c decode/png_gen.c LABELS unit)
hw_add_test(NAME decode-conformance-png SOURCES decode/test_conformance.c LABELS unit)
hw_add_test(NAME decode-regress SOURCES decode/test_regress.c LABELS unit
            ARGS ${CMAKE_CURRENT_SOURCE_DIR}/decode/regress.tsv
                 ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/regress/decode)
hw_add_test(NAME decode-exif SOURCES decode/test_exif.c LABELS unit)
# The EXIF parser is internal (decode_int.h): the test reaches it through hashlib's private dirs.
target_include_directories(decode-exif PRIVATE ${CMAKE_SOURCE_DIR}/hashlib/src
                           ${CMAKE_SOURCE_DIR}/hashlib/include/hashlib)
hw_add_fuzz(NAME decode SOURCE fuzz/fuzz_decode.c)
