# browser.cmake: the analyst page: its embedded asset table (unit) and real-browser tests
# against the real hashwatchd (label browser): Chromium through Playwright, Firefox (firefox-esr,
# optional) through WebDriver BiDi. Screenshots go to tests/browser/artifacts/ (git-ignored).
include(${CMAKE_SOURCE_DIR}/server/web/embed.cmake)
# Built without hashlib (the table has no dependency), so it also runs while hashlib is broken.
add_executable(web-assets browser/test_web_assets.c ${HW_WEB_ASSETS_SOURCE})
target_include_directories(web-assets PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
set_target_properties(web-assets PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
add_test(NAME web-assets COMMAND web-assets ${CMAKE_SOURCE_DIR}/server/web)
set_tests_properties(web-assets PROPERTIES LABELS unit TIMEOUT 60)

find_program(HW_NODE node)
find_program(HW_NPM npm)
find_program(HW_CHROMIUM NAMES chromium chromium-browser)
find_program(HW_FIREFOX NAMES firefox-esr firefox) # optional: its tests skip without it
if(HW_REQUIRE_TEST_DEPS AND (NOT HW_NODE OR NOT HW_NPM OR NOT HW_CHROMIUM OR NOT HW_FIREFOX))
    message(FATAL_ERROR "browser tests need node, npm, chromium and firefox-esr: "
                        "deploy/setup.sh --test")
endif()
if(NOT TARGET hashwatchd)
    message(STATUS "browser tests: hashwatchd is not built here (no libmicrohttpd?); skipped")
elseif(NOT HW_NODE OR NOT HW_NPM OR NOT HW_CHROMIUM)
    message(STATUS "browser tests: need node, npm and chromium (deploy/setup.sh --test); skipped")
else()
    add_test(NAME browser-page
             COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/browser/run.sh
             WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/browser)
    set_tests_properties(browser-page PROPERTIES
        LABELS browser TIMEOUT 600
        ENVIRONMENT "HW_BIN_DIR=${CMAKE_BINARY_DIR}/bin;HW_TEST_DATA=${HW_TEST_DATA};HW_CHROMIUM=${HW_CHROMIUM};HW_FIREFOX=${HW_FIREFOX};HW_BROWSER_ARTIFACTS=${CMAKE_CURRENT_SOURCE_DIR}/browser/artifacts")
endif()
