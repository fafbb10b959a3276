# decode.cmake: PNG decoder, EXIF orientation, hostile inputs, regression replay, fuzz target.
hw_add_test(NAME decode-png SOURCES decode/test_png.c decode/png_gen.c LABELS unit)
