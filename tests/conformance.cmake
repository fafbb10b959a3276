# PDQ conformance against Meta's reference outputs (tests/data/conformance/pdq, README.md there).
hw_add_test(NAME conformance-pdq-synthetic SOURCES conformance/test_pdq_synthetic.c
            LABELS conformance)
hw_add_test(NAME conformance-pdq-matching SOURCES conformance/test_pdq_matching.c
            LABELS conformance)
