# gen_assets.cmake: build-time script (cmake -P) writing the C table of embedded web files.
# Inputs: -DHW_WEB_DIR=<server/web> -DHW_WEB_OUT=<generated .c>. Called by embed.cmake.
cmake_minimum_required(VERSION 3.21)

if(NOT HW_WEB_DIR OR NOT HW_WEB_OUT)
    message(FATAL_ERROR "usage: cmake -DHW_WEB_DIR=dir -DHW_WEB_OUT=file.c -P gen_assets.cmake")
endif()

set(types_html "text/html; charset=utf-8")
set(types_js "text/javascript; charset=utf-8")
set(types_css "text/css; charset=utf-8")
set(types_svg "image/svg+xml")
set(types_png "image/png")
set(types_ico "image/x-icon")
set(types_json "application/json")
set(types_txt "text/plain; charset=utf-8")
set(types_woff2 "font/woff2")

file(GLOB files RELATIVE "${HW_WEB_DIR}"
     "${HW_WEB_DIR}/*.html" "${HW_WEB_DIR}/*.js" "${HW_WEB_DIR}/*.css" "${HW_WEB_DIR}/*.svg"
     "${HW_WEB_DIR}/*.png" "${HW_WEB_DIR}/*.ico" "${HW_WEB_DIR}/*.json" "${HW_WEB_DIR}/*.txt"
     "${HW_WEB_DIR}/*.woff2")
# Sorted by URL path, so srv_web_at() is in path order.
list(SORT files)

set(arrays "")
set(table "")
set(i 0)
foreach(f IN LISTS files)
    if(NOT f MATCHES "^[A-Za-z0-9._-]+$")
        message(FATAL_ERROR "gen_assets: file name not allowed in a URL path: ${f}")
    endif()
    string(REGEX MATCH "[^.]+$" ext "${f}")
    string(TOLOWER "${ext}" ext)
    set(ctype "${types_${ext}}")
    file(READ "${HW_WEB_DIR}/${f}" hex HEX)
    string(LENGTH "${hex}" hexlen)
    math(EXPR len "${hexlen} / 2")
    string(SHA256 digest "${hex}")
    string(SUBSTRING "${digest}" 0 16 etag)
    if(len EQUAL 0)
        set(bytes "    0x00\n")
    else()
        # 16 bytes per line: split the hex into 32-digit lines, then each pair into 0xNN.
        string(REGEX REPLACE "([0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f])"
               "\\1\n" lines "${hex}")
        string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${lines}")
        string(REGEX REPLACE "\n$" "" bytes "${bytes}")
        string(REPLACE "\n" "\n    " bytes "    ${bytes}")
        string(APPEND bytes "\n")
    endif()
    string(APPEND arrays "/* ${f} */\nstatic const unsigned char web_${i}[] = {\n${bytes}};\n\n")
    string(APPEND table "    {\"/${f}\", \"${ctype}\", web_${i}, ${len}u, \"\\\"${etag}\\\"\"},\n")
    math(EXPR i "${i} + 1")
endforeach()

if(i EQUAL 0)
    message(FATAL_ERROR "gen_assets: no web files in ${HW_WEB_DIR}")
endif()

set(out "/* hw_web_assets.c: GENERATED at build time by server/web/gen_assets.cmake from server/web/. Do not edit. */
#include <string.h>

#include \"${HW_WEB_DIR}/web_assets.h\"

${arrays}static const struct srv_web_asset web_assets[] = {
${table}};

#define WEB_ASSET_COUNT (sizeof(web_assets) / sizeof(web_assets[0]))

const struct srv_web_asset *srv_web_find(const char *path)
{
    const struct srv_web_asset *found = NULL;
    size_t plen = 0;
    size_t i = 0;

    if (path == NULL || path[0] != '/') {
        goto done;
    }
    plen = strcspn(path, \"?#\");
    if (plen == 1) {
        path = \"/index.html\";
        plen = strlen(path);
    }
    for (i = 0; i < WEB_ASSET_COUNT; i++) {
        if (strlen(web_assets[i].path) == plen && memcmp(web_assets[i].path, path, plen) == 0) {
            found = &web_assets[i];
            break;
        }
    }
done:
    return found;
}

size_t srv_web_count(void)
{
    return WEB_ASSET_COUNT;
}

const struct srv_web_asset *srv_web_at(size_t i)
{
    return i < WEB_ASSET_COUNT ? &web_assets[i] : NULL;
}
")

# Write only when the content changed, so an unchanged page does not relink the server.
file(WRITE "${HW_WEB_OUT}.tmp" "${out}")
file(COPY_FILE "${HW_WEB_OUT}.tmp" "${HW_WEB_OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${HW_WEB_OUT}.tmp")
