/* error.c: the codec's one error vocabulary (pk_errors.def), the opcode names an error line
 * shows (opcodes.def), and the default limits. */
#include "pk_i.h"

#include <stdio.h>

static const char *const code_names[] = {
#define PK_ERROR(name, text) #name,
#include "pk_errors.def"
#undef PK_ERROR
};

static const char *const code_texts[] = {
#define PK_ERROR(name, text) text,
#include "pk_errors.def"
#undef PK_ERROR
};

const char *pk_code_name(pk_code code)
{
    return (unsigned)code < PK_E__COUNT ? code_names[code] : "?";
}

const char *pk_code_text(pk_code code)
{
    return (unsigned)code < PK_E__COUNT ? code_texts[code] : "?";
}

/* The defaults are documented in the README and picklefs.1; change them together. */
void pk_limits_default(pk_limits *lim)
{
    lim->max_depth = 100000;
    lim->max_nodes = 200000000;
    lim->max_memo = 100000000;
    lim->max_decompressed = (uint64_t)8 << 30;
    lim->max_int_digits = 100000;
    lim->max_memory = (uint64_t)16 << 30;
    lim->partial = 0;
}

void pk_set_error(pk_error *err, pk_code code, uint64_t offset, int opcode, const char *what)
{
    if (!err || err->code != PK_E_OK)
        return; /* the first error is the one that counts */
    err->code = code;
    err->offset = offset;
    err->opcode = opcode;
    snprintf(err->what, sizeof err->what, "%s", what ? what : pk_code_text(code));
}

void pk_error_format(const pk_error *err, char *buf, size_t size)
{
    if (err->code == PK_E_IO) { /* the file could not be read at all: no byte to name */
        snprintf(buf, size, "%s", err->what);
        return;
    }
    const char *name = pk_opcode_name(err->opcode);
    char op[16];
    if (!name) {
        snprintf(op, sizeof op, err->opcode < 0 ? "no opcode" : "0x%02x", err->opcode);
        name = op;
    }
    snprintf(buf, size, "%s at byte %llu (%s)", err->what, (unsigned long long)err->offset, name);
}

const char *pk_opcode_name(int opcode)
{
    switch (opcode) {
#define PK_OP(name, byte, arg, proto) case byte: return #name;
#include "opcodes.def"
#undef PK_OP
    default: return NULL;
    }
}

