// Debian's libxml2 (libxml2-dev) and zlib, for ConiferSAML: parsing without a network or DTDs, exclusive XML
// canonicalization, and raw DEFLATE for the HTTP-Redirect binding.
#include <libxml/xmlversion.h>
// Debian builds libxml2 with ICU; its headers would then pull in ICU headers that clash with Swift's own ICU.
// ConiferSAML uses none of the ICU parts.
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/c14n.h>
#include <libxml/xmlerror.h>
#include <zlib.h>

/// `xmlFree` is a global function pointer, which Swift 6 refuses to call as a shared mutable global.
static inline void conifer_xml_free(void *pointer) { xmlFree(pointer); }

/// `deflateInit2` is a macro.
static inline int conifer_deflate_init_raw(z_stream *stream) {
    return deflateInit2(stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
}
