/* lift_i.h: the interface between the pickle machine (decode.c) and the reconstructors it
 * lifts (lift.c): calls whose result picklefs can show as the value they build, by reading
 * their arguments and never by running anything. */
#ifndef LIFT_I_H
#define LIFT_I_H

#include "machine_i.h"

/* The hooks the coordinator gives the machine: the lifts of this layer. */
extern const pk_hooks pk_lift_hooks;

/* callable(*args, **kwargs), made by HOW. Sets *out to a new value when the call is one we
 * lift, leaves it 0 when the call stays an opaque object. Returns -1 on a hard error. */
int pk_lift_call(pk_lift_ctx *c, pk_how how, uint32_t callable, uint32_t args, uint32_t kwargs,
                 uint32_t *out);


/* ---- reading arguments (lift_args.c) ---- */

/* The dotted name of a GLOBAL into out; false if node is no GLOBAL or the name does not fit. */
bool pk_global_name(const pk_doc *doc, uint32_t node, char *out, size_t size);
/* Report out of memory at the call being lifted: -1. */
int pk_lift_oom(pk_lift_ctx *c);
/* A name from a file that is no pickle (an archive member's) as a dict key: a str, or bytes
 * when it is no UTF-8; 0 with the error set. */
uint32_t pk_lift_name_key(pk_lift_ctx *c, const char *name, uint64_t len);

/* The length of a tuple, or UINT64_MAX when node is no tuple. */
uint64_t pk_tuple_len(const pk_doc *doc, uint32_t tuple);
/* The i-th item of a tuple, or 0. */
uint32_t pk_tuple_item(const pk_doc *doc, uint32_t tuple, uint64_t i);
/* May lifting copy count more items? (a bound on the items a pickle can make us copy) */
bool pk_lift_can_copy(const pk_doc *doc, uint64_t count);
/* Is node the str text? */
bool pk_str_is(const pk_doc *doc, uint32_t node, const char *text);
/* May a lift drop node without hiding a call? True when it holds no object, global or
 * persistent id, looking into containers down to `depth` levels and at a few hundred values at
 * most (past those it is not). A lifted dict counts only when nothing but its items made it. */
bool pk_lift_inert(const pk_doc *doc, uint32_t node, int depth);
/* A lift that shows a value as data it read from calls (a pandas frame from its manager and
 * blocks) marks those calls read, under node, once it has checked each of them: the audit
 * then lists them lifted. Walks calls' arguments and states and containers' items; a call
 * whose callable known() does not accept is left unmarked, and not walked into. */
void pk_lift_mark_read(pk_doc *doc, uint32_t node,
                       bool (*known)(const pk_doc *doc, uint32_t callable));
/* Is node an empty dict: {} or collections.OrderedDict() with nothing set on it since? */
bool pk_lift_empty_dict(const pk_doc *doc, uint32_t node);
/* Is node the GLOBAL "module.name" spelled dotted? */
bool pk_global_is(const pk_doc *doc, uint32_t node, const char *dotted);
/* A new PK_K_TEXT value of type tname showing text (no newline), with a call record
 * callable(*args) so that user.pickle.class names the class. 0 or -1. */
int pk_lift_text(pk_lift_ctx *c, uint16_t tname, uint32_t callable, uint32_t args,
                 const pk_buf *text, uint32_t *out);
/* The class an object's call builds, as a GLOBAL node, or 0: the callable itself, or the first
 * argument of copyreg._reconstructor, __newobj__ and __newobj_ex__ left opaque. */
uint32_t pk_call_class(const pk_doc *doc, const pk_call *call);

/* ---- dicts and objects (lift_object.c): OrderedDict, defaultdict and Counter become dicts,
 * copyreg's _reconstructor, __newobj__ and __newobj_ex__ become objects of their class. Each
 * sets *out to the new value or leaves it 0; returns 0, or -1 on a hard error. */
int pk_lift_ordereddict(pk_lift_ctx *c, uint32_t callable, uint32_t args, uint32_t *out);
int pk_lift_defaultdict(pk_lift_ctx *c, uint32_t callable, uint32_t args, uint32_t *out);
int pk_lift_counter(pk_lift_ctx *c, uint32_t callable, uint32_t args, uint32_t *out);
int pk_lift_reconstructor(pk_lift_ctx *c, uint32_t callable, uint32_t args, uint32_t *out);
int pk_lift_newobj(pk_lift_ctx *c, uint32_t callable, uint32_t args, uint32_t *out);
int pk_lift_newobj_ex(pk_lift_ctx *c, uint32_t callable, uint32_t args, uint32_t *out);
/* functools.partial(f) with its BUILD state (f, args, kwargs, dict) stands for
 * f(*args, **kwargs): true with those read from the state (*kwargs 0 when None). */
bool pk_partial_state(const pk_doc *doc, const pk_call *call, uint32_t *func, uint32_t *args,
                      uint32_t *kwargs);
/* functools.partial(getattr(cls, '__new__'), cls, *args, **kwargs)(), protocol 2 and 3's
 * NEWOBJ_EX, as the object cls(*args, **kwargs). */
int pk_lift_partial_new(pk_lift_ctx *c, uint32_t callable, uint32_t args, uint32_t *out);

/* ---- the lifted scalar types: each reads callable(*args) and sets *out to a PK_K_TEXT value
 * showing Python's str() of what the call builds, or leaves it 0. 0, or -1 on a hard error.
 * lift_datetime.c: datetime.date, time, datetime, timedelta, timezone.
 * lift_number.c: decimal.Decimal, builtins.complex. */
int pk_lift_date(pk_lift_ctx *c, uint32_t callable, uint32_t args, uint32_t *out);
int pk_lift_time(pk_lift_ctx *c, uint32_t callable, uint32_t args, uint32_t *out);
int pk_lift_datetime(pk_lift_ctx *c, uint32_t callable, uint32_t args, uint32_t *out);
int pk_lift_timedelta(pk_lift_ctx *c, uint32_t callable, uint32_t args, uint32_t *out);
int pk_lift_timezone(pk_lift_ctx *c, uint32_t callable, uint32_t args, uint32_t *out);
int pk_lift_decimal(pk_lift_ctx *c, uint32_t callable, uint32_t args, uint32_t *out);
int pk_lift_complex(pk_lift_ctx *c, uint32_t callable, uint32_t args, uint32_t *out);

/* Python's repr() of a lifted PK_K_TEXT value (datetime.date(2024, 1, 2), Decimal('1.5')...),
 * rebuilt from its call's arguments. False when the value is no type of ours. */
bool pk_lift_repr(const pk_doc *doc, uint32_t node, pk_buf *b);
bool pk_lift_repr_datetime(const pk_doc *doc, uint32_t node, pk_buf *b);

/* lift_names.c: CPython's _compat_pickle mapping of a Python 2 (module, name) pair, applied by
 * the decoder while the protocol is below 3. True when mapped: *nmod is the new module and
 * *nname the new name, or NULL when the name stays. */
bool pk_compat_name(const uint8_t *mod, uint64_t mlen, const uint8_t *name, uint64_t nlen,
                    const char **nmod, const char **nname);

#endif
