# The hash-list store and the PDQ near-match index (hashlib/src/store.c, index.c).
hw_add_test(NAME store-api SOURCES store/test_store.c LABELS unit TIMEOUT 120)
# Randomised look-ups against brute force; white box (index layout, test hook).
hw_add_test(NAME store-match SOURCES store/test_store_match.c LABELS integration TIMEOUT 600)
target_include_directories(store-match PRIVATE ${CMAKE_SOURCE_DIR}/hashlib/src
                           ${CMAKE_SOURCE_DIR}/hashlib/include/hashlib ${LMDB_INCLUDE_DIR})
# kill -9 at random moments during replace imports (forks a child per iteration).
hw_add_test(NAME store-crash SOURCES store/test_store_crash.c LABELS integration TIMEOUT 600)
# The lookup and lists commands, run as an operator runs them (needs `hashwatch import`).
add_test(NAME cli-store
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/store/test_cli_store.sh ${CMAKE_BINARY_DIR}/bin/hashwatch
                 ${HW_TEST_DATA})
set_tests_properties(cli-store PROPERTIES LABELS "integration" TIMEOUT 300)
# The store benchmark's own checks: every index answer and every FAISS answer (when built
# with libfaiss-dev) equal to brute force, on a small clustered store.
add_test(NAME bench-store
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/store/test_bench_store.sh ${CMAKE_BINARY_DIR}/bin/hashwatch
                 ${HW_HAVE_FAISS})
set_tests_properties(bench-store PROPERTIES LABELS "integration" TIMEOUT 600)
