# The hashwatch command line, run as a user runs it.
add_test(NAME cli-hash
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_hash.sh ${CMAKE_BINARY_DIR}/bin/hashwatch
                 ${HW_TEST_DATA})
set_tests_properties(cli-hash PROPERTIES LABELS "integration" TIMEOUT 300)
# `bench hash --libjpeg` on a good JPEG, a non-image and a truncated JPEG.
add_test(NAME cli-bench-hash
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_bench_hash.sh ${CMAKE_BINARY_DIR}/bin/hashwatch
                 ${HW_TEST_DATA})
set_tests_properties(cli-bench-hash PROPERTIES LABELS "integration" TIMEOUT 300)
