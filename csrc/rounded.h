/* Every operation rounded as written: no contraction of a product and a sum into an FMA
 * in the file that includes this (first, before any code), whatever the build's
 * -ffp-contract says.  The exact kernels' error-free transformations (eft.h) and the
 * plane walk's twins need it to give the bits of their Numba twins, which are compiled
 * without fastmath; the one fused product they want is an explicit fma(). */
#ifndef FASTRELU_ROUNDED_H
#define FASTRELU_ROUNDED_H
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#else
#pragma STDC FP_CONTRACT OFF
#endif
#endif
