/* array_lift.c: where the calls that build numpy arrays, torch tensors and storages are lifted:
 * each is read from its pickled recipe, never run, and becomes an array of the model in
 * array_i.h, which the view shows as files.
 *
 * What is lifted (docs/CONTRACT.md, "Lifted reconstructors"):
 *   numpy.dtype(...) + BUILD          a dtype: a text file, numpy's str(dtype)
 *   numpy.core.multiarray._reconstruct(cls, (0,), b'b') + BUILD((ver, shape, dtype, fortran,
 *       rawdata))                     an array; rawdata a list (dtype object): nested lists
 *   numpy.core.numeric._frombuffer(buf, dtype, shape, order)      (protocol 5) an array
 *   numpy.core.multiarray.scalar(dtype, bytes)   the matching Python int, float or bool
 *   (numpy 2 spells numpy.core as numpy._core; both are accepted)
 *   joblib.numpy_pickle.NumpyArrayWrapper + BUILD   an array whose bytes follow in the stream
 *   persistent id ('storage', torch.XStorage, key, location, numel)   a storage: the archive
 *       member <top>/data/<key>, or a legacy file's raw storage of that key
 *   torch._utils._rebuild_tensor_v2 / _rebuild_tensor (storage, offset, size, stride, ...)
 *       a tensor: a strided view of its storage; _rebuild_parameter(_with_state) keeps it
 *   torch.Size(t) a tuple; torch.device(type[, index]) text such as "cuda:0"
 *
 * The BUILD, persistent-id and joblib hooks go straight to their files (pk_array_build in
 * array_numpy.c, pk_array_persid in array_torch.c, pk_joblib_build in array_joblib.c); the
 * calls lifted without a BUILD come through here.
 */
#include "array_i.h"

#include <string.h>

int pk_array_lift_call(pk_lift_ctx *c, const char *name, uint32_t callable, uint32_t args,
                       uint32_t *out)
{
    if (strncmp(name, "torch.", 6) == 0)
        return pk_torch_lift_call(c, name, callable, args, out);
    return pk_numpy_lift_call(c, name, args, out);
}
