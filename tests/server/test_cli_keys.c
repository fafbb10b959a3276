/* test_cli_keys.c: `hashwatch keys` and `hashwatch audit verify` as an operator runs them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "hashlib/hw_audit.h"
#include "hashlib/hw_error.h"
#include "hashlib/hw_keys.h"
#include "hashlib/hw_store.h"

#include "hw_test.h"

/* Run a shell command; its stdout goes into out (NUL-terminated). Returns the exit status. */
static int run(const char *cmd, char *out, size_t cap)
{
    FILE *p = popen(cmd, "r");
    size_t n = 0;
    int st;

    out[0] = '\0';
    if (p == NULL) {
        return -1;
    }
    while (n + 1 < cap) {
        size_t r = fread(out + n, 1, cap - 1 - n, p);
        if (r == 0) {
            break;
        }
        n += r;
    }
    out[n] = '\0';
    st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int is_key_line(const char *s)
{
    if (strncmp(s, "hwk_", 4) != 0) {
        return 0;
    }
    for (int i = 4; i < 4 + 16 + 1 + 64; i++) {
        char c = s[i];
        if (i == 20 ? c != '_' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return 0;
        }
    }
    return s[85] == '\n';
}

int main(void)
{
    char dir[] = "/tmp/hw-clikeys-XXXXXX";
    char cmd[1024], out[8192], key[128], id[17];
    hw_store *st = NULL;
    hw_keys *k = NULL;
    struct hw_key_info info;

    if (mkdtemp(dir) == NULL) {
        return 1;
    }
    snprintf(cmd, sizeof(cmd),
             "%s/hashwatch keys create --role analyst --name 'hotline analyst' --lists a,b "
             "--rate 5 --store %s/store",
             HW_BIN_DIR, dir);
    CHECK(run(cmd, out, sizeof(out)) == 0);
    /* The key alone on the first line. */
    CHECK(is_key_line(out));
    snprintf(key, sizeof(key), "%.85s", out);
    snprintf(id, sizeof(id), "%.16s", key + 4);

    /* The stored key works, with what was asked for. */
    snprintf(cmd, sizeof(cmd), "%s/store", dir);
    CHECK(hw_store_open(cmd, 0, &st, NULL, 0) == HW_OK);
    CHECK(hw_keys_open(st, &k, NULL, 0) == HW_OK);
    CHECK(hw_keys_verify(k, key, strlen(key), &info) == HW_OK);
    CHECK(info.role == HW_ROLE_ANALYST && strcmp(info.lists, "a,b") == 0 && info.rate == 5.0);
    CHECK(strcmp(info.name, "hotline analyst") == 0);
    hw_keys_close(k);
    k = NULL;
    hw_store_close(st);
    st = NULL;

    /* list shows the id, never the secret. */
    snprintf(cmd, sizeof(cmd), "%s/hashwatch keys list --store %s/store", HW_BIN_DIR, dir);
    CHECK(run(cmd, out, sizeof(out)) == 0);
    CHECK(strstr(out, id) != NULL && strstr(out, key + 21) == NULL);

    /* Revoked: the key no longer verifies. */
    snprintf(cmd, sizeof(cmd), "%s/hashwatch keys revoke %s --store %s/store", HW_BIN_DIR, id, dir);
    CHECK(run(cmd, out, sizeof(out)) == 0);
    snprintf(cmd, sizeof(cmd), "%s/store", dir);
    CHECK(hw_store_open(cmd, 0, &st, NULL, 0) == HW_OK);
    CHECK(hw_keys_open(st, &k, NULL, 0) == HW_OK);
    CHECK(hw_keys_verify(k, key, strlen(key), &info) == HW_EAUTH);
    hw_keys_close(k);
    hw_store_close(st);

    /* Usage errors: exit 2. */
    snprintf(cmd, sizeof(cmd),
             "%s/hashwatch keys create --role root --name x --store %s/store "
             "2>/dev/null",
             HW_BIN_DIR, dir);
    CHECK(run(cmd, out, sizeof(out)) == 2 && out[0] == '\0');
    snprintf(cmd, sizeof(cmd),
             "%s/hashwatch keys revoke 0123456789abcdef --store %s/store "
             "2>/dev/null",
             HW_BIN_DIR, dir);
    CHECK(run(cmd, out, sizeof(out)) == 1);

    /* audit verify: 0 on an intact chain, 1 naming the line after an edit. */
    {
        hw_audit *a = NULL;
        char path[128];
        snprintf(path, sizeof(path), "%s/audit.log", dir);
        CHECK(hw_audit_open(path, &a, NULL, 0) == HW_OK);
        CHECK(hw_audit_append(a, "{\"n\":1}", NULL, 0) == HW_OK);
        CHECK(hw_audit_append(a, "{\"n\":2}", NULL, 0) == HW_OK);
        CHECK(hw_audit_append(a, "{\"n\":3}", NULL, 0) == HW_OK);
        hw_audit_close(a);
        snprintf(cmd, sizeof(cmd), "%s/hashwatch audit verify --audit-log %s", HW_BIN_DIR, path);
        CHECK(run(cmd, out, sizeof(out)) == 0 && strstr(out, "3 lines") != NULL);
        snprintf(cmd, sizeof(cmd), "sed -i 's/\"n\":1/\"n\":9/' %s", path);
        CHECK(system(cmd) == 0);
        snprintf(cmd, sizeof(cmd), "%s/hashwatch audit verify --audit-log %s", HW_BIN_DIR, path);
        CHECK(run(cmd, out, sizeof(out)) == 1 && strstr(out, "line 2") != NULL);
    }

    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    if (failures != 0) {
        fprintf(stderr, "%d failures\n", failures);
        return 1;
    }
    printf("keys/audit CLI: ok\n");
    return 0;
}
