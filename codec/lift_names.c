/* lift_names.c: the Python 3 spelling of names written by Python 2 pickles.
 *
 * Python 2 wrote __builtin__.set, copy_reg._reconstructor, exceptions.ValueError, and Python 3
 * still writes those spellings at protocols 0 to 2, for Python 2's sake. CPython's unpickler
 * maps them back (Lib/_compat_pickle.py, applied in find_class() while the protocol is below 3):
 * a (module, name) pair in NAME_MAPPING first, else the module in IMPORT_MAPPING. The decoder
 * does the same to every GLOBAL, INST and STACK_GLOBAL name, so that lifting and display see the
 * name Python 3 would import. This is a table lookup on text: nothing is imported.
 *
 * The tables below are the part of _compat_pickle that shows up in data: builtins and copyreg,
 * the exceptions, the renamed containers and I/O classes, and the modules that reach processes,
 * files or the network (commands, urllib, thread...), so that a hostile Python 2 pickle shows the
 * callable Python 3 would really call. Tk dialogs and dbm back ends are left out.
 */
#include "lift_i.h"

#include <string.h>

/* IMPORT_MAPPING: a whole module renamed. */
static const char *const module_map[][2] = {
    {"__builtin__", "builtins"},
    {"copy_reg", "copyreg"},
    {"cPickle", "pickle"},
    {"StringIO", "io"},
    {"cStringIO", "io"},
    {"Queue", "queue"},
    {"ConfigParser", "configparser"},
    {"SocketServer", "socketserver"},
    {"repr", "reprlib"},
    {"_abcoll", "collections.abc"},
    {"UserDict", "collections"},
    {"UserList", "collections"},
    {"UserString", "collections"},
    {"thread", "_thread"},
    {"dummy_thread", "_dummy_thread"},
    {"commands", "subprocess"},
    {"httplib", "http.client"},
    {"urllib2", "urllib.request"},
    {"urlparse", "urllib.parse"},
    {"robotparser", "urllib.robotparser"},
    {"xmlrpclib", "xmlrpc.client"},
    {"SimpleXMLRPCServer", "xmlrpc.server"},
    {"DocXMLRPCServer", "xmlrpc.server"},
    {"BaseHTTPServer", "http.server"},
    {"SimpleHTTPServer", "http.server"},
    {"CGIHTTPServer", "http.server"},
    {"Cookie", "http.cookies"},
    {"cookielib", "http.cookiejar"},
    {"HTMLParser", "html.parser"},
    {"htmlentitydefs", "html.entities"},
    {"markupbase", "_markupbase"},
    {"_elementtree", "xml.etree.ElementTree"},
    {"_winreg", "winreg"},
    {"anydbm", "dbm"},
    {"whichdb", "dbm"},
};

/* NAME_MAPPING: one (module, name) pair renamed; looked up before module_map. */
static const char *const name_map[][4] = {
    {"__builtin__", "xrange", "builtins", "range"},
    {"__builtin__", "reduce", "functools", "reduce"},
    {"__builtin__", "intern", "sys", "intern"},
    {"__builtin__", "unichr", "builtins", "chr"},
    {"__builtin__", "unicode", "builtins", "str"},
    {"__builtin__", "long", "builtins", "int"},
    {"__builtin__", "basestring", "builtins", "str"},
    {"itertools", "izip", "builtins", "zip"},
    {"itertools", "imap", "builtins", "map"},
    {"itertools", "ifilter", "builtins", "filter"},
    {"itertools", "ifilterfalse", "itertools", "filterfalse"},
    {"itertools", "izip_longest", "itertools", "zip_longest"},
    {"UserDict", "IterableUserDict", "collections", "UserDict"},
    {"UserDict", "UserDict", "collections", "UserDict"},
    {"UserList", "UserList", "collections", "UserList"},
    {"UserString", "UserString", "collections", "UserString"},
    {"whichdb", "whichdb", "dbm", "whichdb"},
    {"_socket", "fromfd", "socket", "fromfd"},
    {"socket", "_socketobject", "socket", "SocketType"},
    {"exceptions", "StandardError", "builtins", "Exception"},
    {"urllib", "ContentTooShortError", "urllib.error", "ContentTooShortError"},
    {"urllib", "getproxies", "urllib.request", "getproxies"},
    {"urllib", "pathname2url", "urllib.request", "pathname2url"},
    {"urllib", "quote_plus", "urllib.parse", "quote_plus"},
    {"urllib", "quote", "urllib.parse", "quote"},
    {"urllib", "unquote_plus", "urllib.parse", "unquote_plus"},
    {"urllib", "unquote", "urllib.parse", "unquote"},
    {"urllib", "url2pathname", "urllib.request", "url2pathname"},
    {"urllib", "urlcleanup", "urllib.request", "urlcleanup"},
    {"urllib", "urlencode", "urllib.parse", "urlencode"},
    {"urllib", "urlopen", "urllib.request", "urlopen"},
    {"urllib", "urlretrieve", "urllib.request", "urlretrieve"},
    {"urllib2", "HTTPError", "urllib.error", "HTTPError"},
    {"urllib2", "URLError", "urllib.error", "URLError"},
};

/* exceptions.X is builtins.X for these X (PYTHON2_EXCEPTIONS); other names stay unmapped. */
static const char *const py2_exceptions[] = {
    "ArithmeticError", "AssertionError", "AttributeError", "BaseException", "BufferError",
    "BytesWarning", "DeprecationWarning", "EOFError", "EnvironmentError", "Exception",
    "FloatingPointError", "FutureWarning", "GeneratorExit", "IOError", "ImportError",
    "ImportWarning", "IndentationError", "IndexError", "KeyError", "KeyboardInterrupt",
    "LookupError", "MemoryError", "NameError", "NotImplementedError", "OSError",
    "OverflowError", "PendingDeprecationWarning", "ReferenceError", "RuntimeError",
    "RuntimeWarning", "StopIteration", "SyntaxError", "SyntaxWarning", "SystemError",
    "SystemExit", "TabError", "TypeError", "UnboundLocalError", "UnicodeDecodeError",
    "UnicodeEncodeError", "UnicodeError", "UnicodeTranslateError", "UnicodeWarning",
    "UserWarning", "ValueError", "Warning", "ZeroDivisionError",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static bool text_is(const uint8_t *s, uint64_t len, const char *text)
{
    return strlen(text) == len && memcmp(s, text, len) == 0;
}

bool pk_compat_name(const uint8_t *mod, uint64_t mlen, const uint8_t *name, uint64_t nlen,
                    const char **nmod, const char **nname)
{
    *nmod = *nname = NULL;
    for (size_t i = 0; i < COUNT(name_map); i++)
        if (text_is(mod, mlen, name_map[i][0]) && text_is(name, nlen, name_map[i][1])) {
            *nmod = name_map[i][2];
            *nname = name_map[i][3];
            return true;
        }
    if (text_is(mod, mlen, "exceptions")) {
        for (size_t i = 0; i < COUNT(py2_exceptions); i++)
            if (text_is(name, nlen, py2_exceptions[i])) {
                *nmod = "builtins";
                return true;
            }
        return false;
    }
    for (size_t i = 0; i < COUNT(module_map); i++)
        if (text_is(mod, mlen, module_map[i][0])) {
            *nmod = module_map[i][1];
            return true;
        }
    return false;
}
