/* test_audit.c: the audit log's chain: append, reopen and continue, detect edits, fail loudly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hashlib/hw_audit.h"
#include "hashlib/hw_error.h"

#include "hw_test.h"

static void rewrite_line(const char *path, int lineno, const char *from, const char *to)
{
    FILE *f = fopen(path, "r");
    char buf[8192], out[65536] = "";
    int n = 0;

    while (fgets(buf, sizeof(buf), f) != NULL) {
        n++;
        if (n == lineno) {
            char *p = strstr(buf, from);
            if (p != NULL) {
                char tmp[8192];
                snprintf(tmp, sizeof(tmp), "%.*s%s%s", (int)(p - buf), buf, to, p + strlen(from));
                snprintf(buf, sizeof(buf), "%s", tmp);
            }
        }
        strncat(out, buf, sizeof(out) - strlen(out) - 1);
    }
    fclose(f);
    f = fopen(path, "w");
    fputs(out, f);
    fclose(f);
}

int main(void)
{
    char dir[] = "/tmp/hw-audit-XXXXXX";
    char path[128], copy[128], cmd[1024];
    hw_audit *a = NULL;
    uint64_t n = 0, bad = 0;
    char eb[256];

    if (mkdtemp(dir) == NULL) {
        return 1;
    }
    snprintf(path, sizeof(path), "%s/audit.log", dir);
    snprintf(copy, sizeof(copy), "%s/copy.log", dir);

    /* An absent log verifies, with no lines. */
    CHECK(hw_audit_verify(path, &n, &bad, eb, sizeof(eb)) == HW_OK && n == 0);

    CHECK(hw_audit_open(path, &a, eb, sizeof(eb)) == HW_OK);
    CHECK(hw_audit_append(a, "{\"who\":\"k1\",\"what\":\"lookup\"}", eb, sizeof(eb)) == HW_OK);
    CHECK(hw_audit_append(a, "{}", eb, sizeof(eb)) == HW_OK);
    /* Not an object, or more than one line: refused, nothing written. */
    CHECK(hw_audit_append(a, "[1]", eb, sizeof(eb)) == HW_EINVAL);
    CHECK(hw_audit_append(a, "{\"a\":1}\n{\"b\":2}", eb, sizeof(eb)) == HW_EINVAL);
    hw_audit_close(a);
    a = NULL;

    /* Reopening continues the chain where it stopped. */
    CHECK(hw_audit_open(path, &a, eb, sizeof(eb)) == HW_OK);
    CHECK(hw_audit_append(a, "{\"who\":\"k2\",\"what\":\"list_remove\"}", eb, sizeof(eb)) == HW_OK);
    CHECK(hw_audit_append(a, "{\"who\":\"k3\"}", eb, sizeof(eb)) == HW_OK);
    hw_audit_close(a);
    a = NULL;
    CHECK(hw_audit_verify(path, &n, &bad, eb, sizeof(eb)) == HW_OK);
    CHECK(n == 4 && bad == 0);

    /* Editing line 2 is detected at line 3, whose prev no longer matches. */
    snprintf(cmd, sizeof(cmd), "cp %s %s", path, copy);
    CHECK(system(cmd) == 0);
    rewrite_line(copy, 2, "\"seq\":2", "\"seq\":2,\"x\":1");
    CHECK(hw_audit_verify(copy, &n, &bad, eb, sizeof(eb)) == HW_ECORRUPT);
    CHECK(bad == 3 && n == 2);

    /* Removing line 1 is detected at once (seq and prev of the new first line). */
    snprintf(cmd, sizeof(cmd), "sed -i 1d %s", copy);
    CHECK(system(cmd) == 0);
    CHECK(hw_audit_verify(copy, &n, &bad, eb, sizeof(eb)) == HW_ECORRUPT && bad == 1);

    /* A torn last line: open refuses to extend it; verify names it. */
    snprintf(cmd, sizeof(cmd), "cp %s %s && printf '{\"seq\":5' >> %s", path, copy, copy);
    CHECK(system(cmd) == 0);
    CHECK(hw_audit_open(copy, &a, eb, sizeof(eb)) == HW_ECORRUPT && a == NULL);
    CHECK(hw_audit_verify(copy, &n, &bad, eb, sizeof(eb)) == HW_ECORRUPT && bad == 5);

    /* A write that fails is reported (the server then fails the request). */
    if (access("/dev/full", W_OK) == 0) {
        CHECK(hw_audit_open("/dev/full", &a, eb, sizeof(eb)) == HW_OK);
        CHECK(hw_audit_append(a, "{\"x\":1}", eb, sizeof(eb)) == HW_EIO);
        hw_audit_close(a);
        a = NULL;
    }

    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    if (failures != 0) {
        fprintf(stderr, "%d failures\n", failures);
        return 1;
    }
    printf("audit: ok\n");
    return 0;
}
