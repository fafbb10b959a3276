/* test_web_assets.c: the embedded page table matches server/web/ byte for byte, and lookups. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/web/web_assets.h"

#include "hw_test.h"

/* Reads a whole file; NULL on error. The caller frees. */
static unsigned char *file_read(const char *path, size_t *len)
{
    unsigned char *buf = NULL;
    FILE *f = fopen(path, "rb");
    long n = 0;

    *len = 0;
    if (f == NULL) {
        goto done;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        goto done;
    }
    buf = malloc((size_t)n + 1);
    if (buf == NULL) {
        goto done;
    }
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
        goto done;
    }
    *len = (size_t)n;
done:
    if (f != NULL) {
        fclose(f);
    }
    return buf;
}

static const char *served_ext[] = {".html", ".js", ".css", ".svg"};

static int is_served(const char *name)
{
    size_t n = strlen(name);
    size_t i = 0;

    for (i = 0; i < sizeof(served_ext) / sizeof(served_ext[0]); i++) {
        size_t e = strlen(served_ext[i]);
        if (n > e && strcmp(name + n - e, served_ext[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Every page file on disk is embedded with the same bytes and the right type. */
static void test_files_match(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de = NULL;
    size_t n_disk = 0;

    CHECK(d != NULL, "cannot open %s", dir);
    if (d == NULL) {
        return;
    }
    while ((de = readdir(d)) != NULL) {
        char path[4096];
        char url[512];
        size_t len = 0;
        unsigned char *bytes = NULL;
        const struct srv_web_asset *a = NULL;

        if (!is_served(de->d_name)) {
            continue;
        }
        n_disk++;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        snprintf(url, sizeof(url), "/%s", de->d_name);
        bytes = file_read(path, &len);
        CHECK(bytes != NULL, "cannot read %s", path);
        a = srv_web_find(url);
        CHECK(a != NULL, "%s is not embedded (rebuild should regenerate the table)", url);
        if (a != NULL && bytes != NULL) {
            CHECK(a->len == len && memcmp(a->data, bytes, len) == 0,
                  "%s: embedded bytes differ from the file on disk", url);
            CHECK(a->etag != NULL && a->etag[0] == '"', "%s: ETag not quoted", url);
            if (strstr(url, ".html") != NULL) {
                CHECK(strcmp(a->content_type, "text/html; charset=utf-8") == 0, "%s: %s", url,
                      a->content_type);
            } else if (strstr(url, ".js") != NULL) {
                CHECK(strcmp(a->content_type, "text/javascript; charset=utf-8") == 0, "%s: %s", url,
                      a->content_type);
            } else if (strstr(url, ".css") != NULL) {
                CHECK(strcmp(a->content_type, "text/css; charset=utf-8") == 0, "%s: %s", url,
                      a->content_type);
            } else if (strstr(url, ".svg") != NULL) {
                CHECK(strcmp(a->content_type, "image/svg+xml") == 0, "%s: %s", url,
                      a->content_type);
            }
        }
        free(bytes);
    }
    closedir(d);
    CHECK(n_disk >= 3, "expected at least index.html, app.js, style.css; found %zu", n_disk);
    CHECK(srv_web_count() == n_disk, "%zu embedded, %zu on disk", srv_web_count(), n_disk);
}

static void test_lookups(void)
{
    const struct srv_web_asset *root = srv_web_find("/");
    const struct srv_web_asset *index = srv_web_find("/index.html");
    const char *never[] = {"",
                           "index.html",
                           "/../index.html",
                           "//index.html",
                           "/INDEX.HTML",
                           "/%2e%2e/index.html",
                           "/web_assets.h",
                           "/embed.cmake",
                           "/gen_assets.cmake",
                           "/index.html/",
                           "/app.j"};
    size_t i = 0;

    CHECK(root != NULL && root == index, "\"/\" must map to /index.html");
    CHECK(srv_web_find("/?x=1") == index, "query string after / must be ignored");
    CHECK(srv_web_find("/app.js?v=2") == srv_web_find("/app.js") && srv_web_find("/app.js"),
          "query string must be ignored");
    CHECK(srv_web_find(NULL) == NULL, "NULL path");
    for (i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
        CHECK(srv_web_find(never[i]) == NULL, "\"%s\" must not be found", never[i]);
    }
    for (i = 0; i + 1 < srv_web_count(); i++) {
        CHECK(strcmp(srv_web_at(i)->path, srv_web_at(i + 1)->path) < 0, "not in path order");
    }
    CHECK(srv_web_at(srv_web_count()) == NULL, "srv_web_at past the end");
    if (index != NULL) {
        /* The page carries its own CSP and loads only same-origin files. */
        char *html = malloc(index->len + 1);
        CHECK(html != NULL, "malloc");
        if (html != NULL) {
            memcpy(html, index->data, index->len);
            html[index->len] = '\0';
            CHECK(strstr(html, "Content-Security-Policy") != NULL, "index.html has no CSP");
            CHECK(strstr(html, "http://") == NULL && strstr(html, "https://") == NULL,
                  "index.html refers to an external URL");
            CHECK(strstr(html, "style=\"") == NULL, "inline style attribute (blocked by CSP)");
            CHECK(strstr(html, "<script>") == NULL, "inline script (blocked by CSP)");
            free(html);
        }
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s <server/web directory>\n", argv[0]);
        return 2;
    }
    test_files_match(argv[1]);
    test_lookups();
    if (failures != 0) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("web assets: %zu files embedded, all checks passed\n", srv_web_count());
    return 0;
}
