# import.cmake: the hash-list parsers (hw_listfmt.h) and `hashwatch import` end to end.
hw_add_test(NAME test_listfmt SOURCES import/test_listfmt.c LABELS unit)
hw_add_fuzz(NAME listfmt SOURCE fuzz/fuzz_listfmt.c)
