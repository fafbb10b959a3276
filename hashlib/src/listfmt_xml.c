/* listfmt_xml.c: streaming NCMEC Hash Sharing v2 queryResult reader (libxml2 push SAX2). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>

#include "hw_error.h"
#include "listfmt_int.h"

enum lf_xtext {
    XT_NONE = 0,
    XT_ID,
    XT_TIMESTAMP,
    XT_CLASSIFICATION,
    XT_FINGERPRINT,
};

struct lf_xml {
    xmlParserCtxtPtr ctxt;
    unsigned depth;
    int saw_root;
    int container_video; /* depth 2: inside <videos> */
    int in_record;       /* depth 3: inside image/video/deletedImage/deletedVideo */
    int in_fingerprints;
    int is_video;
    enum lf_xtext capture; /* the element whose text is being collected */
    char fp_name[32];      /* the fingerprint element's local name */
    char *text;            /* at most max_field_len bytes */
    size_t text_len;
    char id[HW_ENTRY_ID_MAX];
    int have_id;
    int have_member;
    struct lf_rec rec;
};

static int lf_xeq(const xmlChar *a, const char *b)
{
    return a != NULL && strcmp((const char *)a, b) == 0;
}

static void lf_xstop(hw_listfmt_parser *p)
{
    struct lf_xml *x = p->state;

    xmlStopParser(x->ctxt);
}

static uint64_t lf_xline(struct lf_xml *x)
{
    if (x->ctxt != NULL && x->ctxt->input != NULL && x->ctxt->input->line > 0) {
        return (uint64_t)x->ctxt->input->line;
    }
    return 1;
}

static void lf_x_start(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                       const xmlChar *uri, int nb_namespaces, const xmlChar **namespaces,
                       int nb_attributes, int nb_defaulted, const xmlChar **attrs)
{
    hw_listfmt_parser *p = ctx;
    struct lf_xml *x = p->state;
    unsigned d;

    if (p->failed) {
        return;
    }
    if (x->depth >= p->o.max_depth) {
        lf_fail(p, HW_ETOOBIG, "XML nested deeper than %u", p->o.max_depth);
        lf_xstop(p);
        return;
    }
    d = ++x->depth;
    if (d == 1) {
        if (!lf_xeq(localname, "queryResult")) {
            lf_fail(p, HW_EFORMAT, "the root element is not an NCMEC queryResult");
            lf_xstop(p);
            return;
        }
        x->saw_root = 1;
    } else if (d == 2) {
        x->container_video = lf_xeq(localname, "videos");
    } else if (d == 3) {
        int img = lf_xeq(localname, "image"), vid = lf_xeq(localname, "video");
        int dimg = lf_xeq(localname, "deletedImage"), dvid = lf_xeq(localname, "deletedVideo");
        if (img || vid || dimg || dvid) {
            x->in_record = 1;
            x->is_video = vid || dvid;
            x->have_id = 0;
            x->have_member = 0;
            x->id[0] = '\0';
            p->rec_no++;
            p->rec_line = lf_xline(x);
            lf_rec_reset(&x->rec, (dimg || dvid) ? HW_LISTFMT_DELETE : HW_LISTFMT_UPSERT);
        }
    } else if (d == 4 && x->in_record) {
        if (lf_xeq(localname, "member")) {
            for (int i = 0; i < nb_attributes; i++) {
                const xmlChar **a = attrs + 5 * i; /* localname, prefix, URI, value, end */
                if (lf_xeq(a[0], "id")) {
                    lf_copy_field(x->rec.member_id, sizeof(x->rec.member_id), (const char *)a[3],
                                  (size_t)(a[4] - a[3]));
                    x->have_member = x->rec.member_id[0] != '\0';
                }
            }
        } else if (lf_xeq(localname, "id")) {
            x->capture = XT_ID;
        } else if (lf_xeq(localname, "timestamp")) {
            x->capture = XT_TIMESTAMP;
        } else if (lf_xeq(localname, "classification")) {
            x->capture = XT_CLASSIFICATION;
        } else if (lf_xeq(localname, "fingerprints")) {
            x->in_fingerprints = 1;
        }
    } else if (d == 5 && x->in_fingerprints) {
        x->capture = XT_FINGERPRINT;
        snprintf(x->fp_name, sizeof(x->fp_name), "%s", (const char *)localname);
    }
    x->text_len = 0;
}

static void lf_x_chars(void *ctx, const xmlChar *ch, int len)
{
    hw_listfmt_parser *p = ctx;
    struct lf_xml *x = p->state;

    if (p->failed || x->capture == XT_NONE || len <= 0) {
        return;
    }
    if ((size_t)len > p->o.max_field_len - x->text_len) {
        lf_fail(p, HW_ETOOBIG, "an XML text longer than %zu bytes", p->o.max_field_len);
        lf_xstop(p);
        return;
    }
    memcpy(x->text + x->text_len, ch, (size_t)len);
    x->text_len += (size_t)len;
}

static void lf_x_fingerprint(struct lf_xml *x)
{
    struct lf_rec *r = &x->rec;
    enum hw_hash_type t = HW_HASH_NONE;
    const char *n = x->fp_name;

    /* NCMEC fingerprint element names (FORMATS.md 2.3); a video's md5 is a video MD5. */
    if (strcmp(n, "md5") == 0) {
        t = x->is_video ? HW_HASH_VIDEO_MD5 : HW_HASH_MD5;
    } else if (strcmp(n, "sha1") == 0) {
        t = HW_HASH_SHA1;
    } else if (strcmp(n, "sha256") == 0) {
        t = HW_HASH_SHA256;
    } else if (strcmp(n, "pdna") == 0) {
        t = HW_HASH_PHOTODNA;
    } else if (strcmp(n, "pdq") == 0) {
        t = HW_HASH_PDQ;
    }
    if (r->op == HW_LISTFMT_DELETE) {
        return; /* a tombstone removes the entry by its key, whatever it lists */
    }
    if (t == HW_HASH_NONE) {
        r->n_unsupported++; /* TMK+PDQF, NetClean, Videntifier...: links, not values */
        return;
    }
    lf_rec_add_hash(r, t, x->text, x->text_len, n);
}

static void lf_x_end(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
    hw_listfmt_parser *p = ctx;
    struct lf_xml *x = p->state;
    unsigned d = x->depth;
    struct lf_rec *r = &x->rec;

    if (p->failed) {
        return;
    }
    x->depth--;
    if (d == 5 && x->capture == XT_FINGERPRINT) {
        lf_x_fingerprint(x);
    } else if (d == 4 && x->in_record) {
        switch (x->capture) {
        case XT_ID:
            lf_copy_field(x->id, sizeof(x->id), x->text, x->text_len);
            x->have_id = x->id[0] != '\0';
            break;
        case XT_TIMESTAMP:
            if (lf_parse_time(x->text, x->text_len, &r->created) != HW_OK) {
                lf_rec_bad(r, HW_EFORMAT, "timestamp is not an ISO 8601 date");
            }
            break;
        case XT_CLASSIFICATION:
            lf_copy_field(r->category, sizeof(r->category), x->text, x->text_len);
            break;
        default:
            break;
        }
        x->in_fingerprints = 0;
    } else if (d == 3 && x->in_record) {
        x->in_record = 0;
        if (!x->have_member) {
            lf_rec_bad(r, HW_EFORMAT, "no member id");
        }
        if (!x->have_id) {
            lf_rec_bad(r, HW_EFORMAT, "no entry id");
        }
        /* Entry ids are unique per member only: key as pytx does, "<member>-<id>". */
        if (snprintf(r->entry_id, sizeof(r->entry_id), "%s-%s", r->member_id, x->id) >=
            (int)sizeof(r->entry_id)) {
            lf_rec_bad(r, HW_ETOOBIG, "member and entry id longer than %d bytes",
                       HW_ENTRY_ID_MAX - 1);
        }
        if (lf_rec_emit(p, r) != HW_OK) {
            lf_xstop(p);
        }
    }
    x->capture = XT_NONE;
    x->text_len = 0;
}

/* A DOCTYPE is where XXE and "billion laughs" live; NCMEC pages have none: refuse it. */
static void lf_x_subset(void *ctx, const xmlChar *name, const xmlChar *ext_id,
                        const xmlChar *sys_id)
{
    hw_listfmt_parser *p = ctx;

    p->rec_line = lf_xline(p->state);
    lf_fail(p, HW_EUNSUPPORTED, "XML DOCTYPE declarations are refused (no DTD, no entities)");
    lf_xstop(p);
}

static void lf_x_entity_decl(void *ctx, const xmlChar *name, int type, const xmlChar *public_id,
                             const xmlChar *system_id, xmlChar *content)
{
    hw_listfmt_parser *p = ctx;

    p->rec_line = lf_xline(p->state);
    lf_fail(p, HW_EUNSUPPORTED, "XML entity declarations are refused");
    lf_xstop(p);
}

static xmlEntityPtr lf_x_get_entity(void *ctx, const xmlChar *name)
{
    return NULL; /* only the predefined entities (&amp; ...) exist */
}

static void lf_x_serror(void *ctx, xmlErrorPtr err)
{
    hw_listfmt_parser *p = ctx;
    char clean[160];
    size_t k = 0;

    if (err == NULL || err->level < XML_ERR_ERROR || p->failed) {
        return;
    }
    /* libxml2 messages name elements and entities, not text; keep them short and printable. */
    for (const char *m = err->message; m != NULL && *m != '\0' && k + 1 < sizeof(clean); m++) {
        clean[k++] = ((unsigned char)*m < 0x20) ? ' ' : *m;
    }
    while (k > 0 && clean[k - 1] == ' ') {
        k--;
    }
    clean[k] = '\0';
    if (err->line > 0) {
        p->rec_line = (uint64_t)err->line;
    }
    lf_fail(p, HW_EFORMAT, "XML: %s", k > 0 ? clean : "not well-formed");
}

/* libxml2 reports some errors (encoding, I/O) on its generic channel, which prints to stderr
 * by default; the library never prints: they reach us through serror or the return code. */
static void lf_x_silent(void *ctx, const char *msg, ...)
{
}

static int lf_xml_chunk(hw_listfmt_parser *p, const char *d, size_t n, int terminate)
{
    struct lf_xml *x = p->state;

    do {
        int piece = n > (size_t)(INT_MAX / 2) ? INT_MAX / 2 : (int)n;
        int rc = xmlParseChunk(x->ctxt, d, piece, terminate && (size_t)piece == n);
        if (p->failed) {
            return p->failed;
        }
        if (rc != 0) {
            p->rec_line = lf_xline(x);
            return lf_fail(p, HW_EFORMAT, "XML is not well-formed (libxml2 error %d)", rc);
        }
        d += piece;
        n -= (size_t)piece;
    } while (n > 0);
    return HW_OK;
}

static int lf_xml_feed(hw_listfmt_parser *p, const unsigned char *d, size_t n)
{
    return lf_xml_chunk(p, (const char *)d, n, 0);
}

static int lf_xml_finish(hw_listfmt_parser *p)
{
    struct lf_xml *x = p->state;
    int rc;

    if (x->depth > 0) {
        p->rec_line = lf_xline(x);
        return lf_fail(p, HW_ETRUNCATED, "the XML document ends early");
    }
    rc = lf_xml_chunk(p, "", 0, 1);
    if (rc != HW_OK) {
        return rc;
    }
    if (!x->saw_root || x->depth > 0) {
        p->rec_line = lf_xline(x);
        return lf_fail(p, x->saw_root ? HW_ETRUNCATED : HW_EFORMAT,
                       x->saw_root ? "the XML document ends early" : "no XML document");
    }
    return HW_OK;
}

static void lf_xml_free(void *state)
{
    struct lf_xml *x = state;

    if (x == NULL) {
        return;
    }
    if (x->ctxt != NULL) {
        if (x->ctxt->myDoc != NULL) {
            xmlFreeDoc(x->ctxt->myDoc);
        }
        xmlFreeParserCtxt(x->ctxt);
    }
    free(x->text);
    free(x);
}

static const struct lf_impl lf_xml_impl = {lf_xml_feed, lf_xml_finish, lf_xml_free};

int lf_xml_init(hw_listfmt_parser *p)
{
    struct lf_xml *x = calloc(1, sizeof(*x));
    xmlSAXHandler sax;

    if (x == NULL) {
        return HW_ENOMEM;
    }
    p->impl = &lf_xml_impl;
    p->state = x;
    x->text = malloc(p->o.max_field_len);
    if (x->text == NULL) {
        return HW_ENOMEM;
    }
    memset(&sax, 0, sizeof(sax));
    sax.initialized = XML_SAX2_MAGIC;
    sax.startElementNs = lf_x_start;
    sax.endElementNs = lf_x_end;
    sax.characters = lf_x_chars;
    sax.cdataBlock = lf_x_chars;
    sax.internalSubset = lf_x_subset;
    sax.externalSubset = lf_x_subset;
    sax.entityDecl = lf_x_entity_decl;
    sax.getEntity = lf_x_get_entity;
    sax.serror = lf_x_serror;
    xmlSetGenericErrorFunc(NULL, lf_x_silent); /* per thread in libxml2 */
    x->ctxt = xmlCreatePushParserCtxt(&sax, p, NULL, 0, NULL);
    if (x->ctxt == NULL) {
        return HW_ENOMEM;
    }
    /* No network, no entity substitution (no XML_PARSE_NOENT), no DTD loading or default
     * attributes, libxml2's own size limits kept (no XML_PARSE_HUGE). NCMEC serves UTF-8:
     * the encoding declaration is ignored, so no iconv converter (UTF-7, EBCDIC...) ever
     * sees the input. */
    xmlCtxtUseOptions(x->ctxt, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                                   XML_PARSE_IGNORE_ENC);
    return HW_OK;
}
