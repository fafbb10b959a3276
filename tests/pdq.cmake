# PDQ hash text forms, distance and luma; digests and hex helpers (quick unit tests).
hw_add_test(NAME pdq-unit SOURCES pdq/test_pdq_unit.c LABELS unit)
hw_add_test(NAME digest-unit SOURCES pdq/test_digest.c LABELS unit)
hw_add_test(NAME pdq-hasher SOURCES pdq/test_hasher.c LABELS unit)
# Hex parsers and hw_pdq_from_luma at arbitrary small sizes (corpus: tests/fuzz/corpus/pdq).
hw_add_fuzz(NAME pdq SOURCE pdq/fuzz_pdq.c)
