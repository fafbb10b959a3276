# embed_openapi.cmake: turn openapi.json into a C array (cmake -DIN=... -DOUT=... -P this).
file(READ ${IN} HEX HEX)
string(LENGTH "${HEX}" HEXLEN)
math(EXPR LEN "${HEXLEN} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," BYTES "${HEX}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n"
       BYTES "${BYTES}")
file(WRITE ${OUT} "/* openapi_json.c: generated from server/openapi.json; do not edit. */\n"
     "#include <stddef.h>\n"
     "extern const unsigned char srv_openapi_json[];\n"
     "extern const size_t srv_openapi_json_len;\n"
     "const unsigned char srv_openapi_json[] = {\n${BYTES}0x00};\n"
     "const size_t srv_openapi_json_len = ${LEN};\n")
