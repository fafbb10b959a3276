# embed.cmake: compiles the analyst page (server/web/*.html, *.js, *.css, *.svg...) into hashwatchd.
#
# How to use it (in server/CMakeLists.txt, before or after add_library(hwserver ...)):
#
#     include(${CMAKE_CURRENT_SOURCE_DIR}/web/embed.cmake)
#     target_sources(hwserver PRIVATE ${HW_WEB_ASSETS_SOURCE})
#
# and in C:  #include "web/web_assets.h"   then   const struct srv_web_asset *a =
# srv_web_find(url);  (NULL: not a page file -> 404). "/" maps to "/index.html". Send
# a->content_type, a->etag and the headers suggested in web_assets.h (SRV_WEB_CSP).
#
# What it does: at build time (not configure time) the script gen_assets.cmake reads every
# served file of this folder with file(READ ... HEX) and writes one C source into the build
# tree (${CMAKE_CURRENT_BINARY_DIR}/hw_web_assets.c) holding the bytes as arrays, plus
# srv_web_find(), srv_web_count(), srv_web_at(). No xxd or other tool is needed. The source is
# regenerated whenever a web file changes; adding or removing a file re-runs CMake (the glob
# is CONFIGURE_DEPENDS). Served extensions: html, js, css, svg, png, ico, json, txt, woff2.
#
# hw_web_embed(<out_var> <out_file>) can be called again elsewhere (the browser/unit tests
# compile their own copy to check the table against the files on disk).

set(HW_WEB_DIR "${CMAKE_CURRENT_LIST_DIR}")

function(hw_web_embed out_var out_file)
    file(GLOB web_files CONFIGURE_DEPENDS
         "${HW_WEB_DIR}/*.html" "${HW_WEB_DIR}/*.js" "${HW_WEB_DIR}/*.css"
         "${HW_WEB_DIR}/*.svg" "${HW_WEB_DIR}/*.png" "${HW_WEB_DIR}/*.ico"
         "${HW_WEB_DIR}/*.json" "${HW_WEB_DIR}/*.txt" "${HW_WEB_DIR}/*.woff2")
    list(SORT web_files)
    add_custom_command(
        OUTPUT "${out_file}"
        COMMAND "${CMAKE_COMMAND}" "-DHW_WEB_DIR=${HW_WEB_DIR}" "-DHW_WEB_OUT=${out_file}"
                -P "${HW_WEB_DIR}/gen_assets.cmake"
        DEPENDS ${web_files} "${HW_WEB_DIR}/gen_assets.cmake" "${HW_WEB_DIR}/web_assets.h"
        COMMENT "Embedding the analyst page (server/web) into ${out_file}"
        VERBATIM)
    set(${out_var} "${out_file}" PARENT_SCOPE)
endfunction()

hw_web_embed(HW_WEB_ASSETS_SOURCE "${CMAKE_CURRENT_BINARY_DIR}/hw_web_assets.c")
