# Style: every C source and header is formatted as the root .clang-format says.
find_program(CLANG_FORMAT clang-format)
if(HW_REQUIRE_TEST_DEPS AND NOT CLANG_FORMAT)
    message(FATAL_ERROR "clang-format not found: deploy/setup.sh --test")
endif()
if(CLANG_FORMAT)
    add_test(NAME style-clang-format
             COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/style/check-format.sh ${CLANG_FORMAT}
             WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
    set_tests_properties(style-clang-format PROPERTIES LABELS style)
endif()
