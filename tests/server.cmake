# server.cmake: hashwatchd integration tests (the real server in-process on port 0, libcurl),
# the audit log, the keys/audit commands, and the server's parsers under fuzzing.
hw_add_test(NAME test_audit SOURCES server/test_audit.c LABELS unit)
hw_add_test(NAME test_cli_keys SOURCES server/test_cli_keys.c LABELS integration)
if(TARGET hwserver)
    pkg_check_modules(CURL IMPORTED_TARGET libcurl)
    if(CURL_FOUND)
        hw_add_test(NAME test_server SOURCES server/test_server.c
                    LIBS hwserver PkgConfig::CURL LABELS integration TIMEOUT 600)
        # GnuTLS (libmicrohttpd's TLS) makes a throwaway certificate for the HTTPS test.
        pkg_check_modules(GNUTLS IMPORTED_TARGET gnutls)
        if(GNUTLS_FOUND)
            target_link_libraries(test_server PRIVATE PkgConfig::GNUTLS)
            target_compile_definitions(test_server PRIVATE HW_TEST_TLS=1)
        elseif(HW_REQUIRE_TEST_DEPS)
            message(FATAL_ERROR "gnutls not found (libgnutls28-dev): the HTTPS test needs it")
        endif()
    else()
        if(HW_REQUIRE_TEST_DEPS)
            message(FATAL_ERROR "libcurl not found (libcurl4-openssl-dev): deploy/setup.sh --test")
        endif()
        message(WARNING "libcurl not found (libcurl4-openssl-dev): server tests skipped")
    endif()
    # `hashwatch bench http` against a real hashwatchd: its counts, or its figures mean nothing.
    add_test(NAME bench-http
             COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/server/test_bench_http.sh ${CMAKE_BINARY_DIR}/bin
                     ${CMAKE_CURRENT_SOURCE_DIR}/data)
    set_tests_properties(bench-http PROPERTIES LABELS "integration" TIMEOUT 300)
    # The server's own parsers of untrusted text (hash strings, config files, audit logs).
    hw_add_fuzz(NAME srv_parse SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/server/fuzz_srv_parse.c
                LIBS hwserver)
    # Request bodies (/v1/lookup JSON, /v1/check multipart) and raw requests, sent to a real
    # in-process server.
    hw_add_fuzz(NAME srv_http SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/server/fuzz_srv_http.c
                LIBS hwserver)
endif()
