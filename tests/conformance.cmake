# PDQ conformance against Meta's reference outputs (tests/data/conformance/pdq, README.md there).
hw_add_test(NAME conformance-pdq-synthetic SOURCES conformance/test_pdq_synthetic.c
            LABELS conformance)
hw_add_test(NAME conformance-pdq-matching SOURCES conformance/test_pdq_matching.c
            LABELS conformance)
# Decoded reference images through hw_hasher (needs the JPEG and PNG decoders).
hw_add_test(NAME conformance-pdq-expected SOURCES conformance/test_pdq_images.c
            LABELS conformance ARGS expected)
foreach(mode fullres dihedral pairs exif)
    add_test(NAME conformance-pdq-${mode} COMMAND conformance-pdq-expected ${mode}
             WORKING_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
    set_tests_properties(conformance-pdq-${mode} PROPERTIES LABELS conformance TIMEOUT 300)
endforeach()
