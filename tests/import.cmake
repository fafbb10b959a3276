# import.cmake: the hash-list parsers (hw_listfmt.h) and `hashwatch import` end to end.
hw_add_test(NAME test_listfmt SOURCES import/test_listfmt.c LABELS unit)
hw_add_test(NAME test_import_cli SOURCES import/test_import_cli.c LABELS integration)
add_dependencies(test_import_cli hashwatch)
hw_add_fuzz(NAME listfmt SOURCE fuzz/fuzz_listfmt.c)
