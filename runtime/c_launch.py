"""Calling generated C kernels from Python in about a microsecond.

Every generated kernel has one ABI: ``void kernel(void *const *P, const int64_t *I,
const double *D)`` — array data pointers, integers (sizes, strides, int scalars) and doubles
(float scalars). ``launch(kernel, arrays, ints, doubles)`` calls one. The fast launcher is a tiny
CPython extension (built once with the same compiler, cached on disk) that reads each array's
data pointer with numpy's C API and releases the GIL around the kernel; without Python or numpy
headers a ctypes launcher (a few microseconds slower per call) does the same.
"""

from __future__ import annotations

import ctypes
import importlib.machinery
import importlib.util
import sysconfig

import numpy as np

from graphtorch.runtime import c_backend

_SOURCE = r"""
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>
#include <stdint.h>

typedef void (*gt_kernel)(void *const *, const int64_t *, const double *);

static int items(PyObject *seq, PyObject ***out, Py_ssize_t *n) {
  if (PyTuple_Check(seq)) { *out = &PyTuple_GET_ITEM(seq, 0); *n = PyTuple_GET_SIZE(seq); }
  else if (PyList_Check(seq)) { *out = ((PyListObject *)seq)->ob_item;
                                *n = PyList_GET_SIZE(seq); }
  else { PyErr_SetString(PyExc_TypeError, "launch: expected a tuple or list"); return -1; }
  if (*n > 64) { PyErr_SetString(PyExc_ValueError, "launch: at most 64 values"); return -1; }
  return 0;
}

static PyObject *launch(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
  void *ptrs[64]; int64_t ints[64]; double dbls[64];
  PyObject **it; Py_ssize_t n, i;
  if (nargs != 4) { PyErr_SetString(PyExc_TypeError, "launch(fn, arrays, ints, doubles)");
                    return NULL; }
  gt_kernel f = (gt_kernel)PyLong_AsVoidPtr(args[0]);
  if (f == NULL) { if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "null kernel");
                   return NULL; }
  if (items(args[1], &it, &n)) return NULL;
  for (i = 0; i < n; i++) {
    if (!PyArray_Check(it[i])) { PyErr_SetString(PyExc_TypeError, "launch: not an array");
                                 return NULL; }
    ptrs[i] = PyArray_DATA((PyArrayObject *)it[i]);
  }
  if (items(args[2], &it, &n)) return NULL;
  for (i = 0; i < n; i++) { ints[i] = PyLong_AsLongLong(it[i]); }
  if (items(args[3], &it, &n)) return NULL;
  for (i = 0; i < n; i++) { dbls[i] = PyFloat_AsDouble(it[i]); }
  if (PyErr_Occurred()) return NULL;
  Py_BEGIN_ALLOW_THREADS
  f(ptrs, ints, dbls);
  Py_END_ALLOW_THREADS
  Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
  {"launch", (PyCFunction)(void (*)(void))launch, METH_FASTCALL, "call a generated kernel"},
  {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "gt_launch", NULL, -1, methods};
PyMODINIT_FUNC PyInit_gt_launch(void) { import_array(); return PyModule_Create(&module); }
"""

_STATE: dict = {}


def _ctypes_launch(fn, arrays, ints, doubles) -> None:
    p = (ctypes.c_void_p * max(1, len(arrays)))(*[a.ctypes.data for a in arrays])
    i = (ctypes.c_int64 * max(1, len(ints)))(*ints)
    d = (ctypes.c_double * max(1, len(doubles)))(*doubles)
    ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)(fn)(p, i, d)


def launcher():
    """``launch(kernel_address, arrays, ints, doubles)``: the extension, else ctypes."""
    fn = _STATE.get("launch")
    if fn is None:
        fn = _STATE["launch"] = _build_extension() or _ctypes_launch
    return fn


def _build_extension():
    include = sysconfig.get_paths().get("include")
    try:
        flags = ("-O2", "-fPIC", "-shared", f"-I{include}", f"-I{np.get_include()}")
        path = c_backend.build(_SOURCE + f"/* numpy {np.__version__} */", flags)
        spec = importlib.util.spec_from_file_location(
            "gt_launch", str(path), loader=importlib.machinery.ExtensionFileLoader(
                "gt_launch", str(path)))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod.launch
    except (c_backend.CompileError, ImportError, OSError):
        return None


def address(lib, name: str = "kernel") -> int:
    """The address of ``name`` in a loaded library (what ``launch`` takes)."""
    return ctypes.cast(getattr(lib, name), ctypes.c_void_p).value
