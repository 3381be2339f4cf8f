"""Neural-net cases: convolutions in every layout, pooling windows, cumulative ops, sort and top_k,
boolean/bitwise reductions and reduce_precision. Layouts follow what Flax produces (NHWC/HWIO)
as well as NCHW/OIHW and odd ones; magnitudes stay modest because a convolution sums many terms."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from casekit import EXACT, Case, boolean, case, f32, grid, i32, pos, uniform

TOL_CONV = dict(rtol=1e-5, atol=1e-5)


def conv(dn, strides=(1, 1), padding="SAME", lhs_dil=None, rhs_dil=None, groups=1, batch_groups=1):
    return lambda x, w: lax.conv_general_dilated(
        x, w, strides, padding, lhs_dilation=lhs_dil, rhs_dilation=rhs_dil, dimension_numbers=dn,
        feature_group_count=groups, batch_group_count=batch_groups)


NHWC = ("NHWC", "HWIO", "NHWC")
NCHW = ("NCHW", "OIHW", "NCHW")

CASES: list[Case] = [
    # -- convolution --------------------------------------------------------------------------
    case("conv_nhwc_same_f32", conv(NHWC), [f32(2, 6, 7, 3, lo=0.1, hi=1.0), f32(3, 3, 3, 4, lo=0.1, hi=1.0)],
         ["conv_general_dilated"]),
    case("conv_nchw_valid_stride_f32", conv(NCHW, (2, 1), "VALID"),
         [f32(2, 3, 7, 6, lo=0.1, hi=1.0), f32(4, 3, 3, 2, lo=0.1, hi=1.0)], ["conv_general_dilated"]),
    case("conv_odd_layout_f32", conv(("HNCW", "WIHO", "CWNH"), (1, 2), ((1, 2), (0, 1))),
         [f32(6, 2, 3, 7), f32(2, 3, 3, 5)], ["conv_general_dilated"]),
    case("conv_negative_padding_f32", conv(NHWC, (1, 1), ((-1, 2), (1, -2))),
         [f32(1, 6, 7, 2), f32(2, 3, 2, 3)], ["conv_general_dilated"]),
    case("conv_rhs_dilation_f32", conv(NHWC, (1, 1), "SAME", rhs_dil=(2, 3)),
         [f32(1, 8, 9, 2), f32(3, 2, 2, 3)], ["conv_general_dilated"]),
    case("conv_lhs_dilation_f32", conv(NCHW, (1, 1), ((2, 1), (1, 2)), lhs_dil=(2, 3)),
         [f32(2, 2, 4, 3), f32(3, 2, 3, 3)], ["conv_general_dilated"]),
    case("conv_depthwise_f32", conv(NHWC, (1, 1), "SAME", groups=4),
         [f32(2, 5, 5, 4), f32(3, 3, 1, 8)], ["conv_general_dilated"]),
    case("conv_grouped_f32", conv(NCHW, (1, 1), "VALID", groups=2),
         [f32(1, 4, 5, 5), f32(6, 2, 2, 2)], ["conv_general_dilated"]),
    case("conv_batch_groups_f32", conv(NCHW, (1, 1), "VALID", batch_groups=2),
         [f32(4, 3, 5, 5), f32(6, 3, 2, 2)], ["conv_general_dilated"]),
    case("conv_1d_f32", conv(("NWC", "WIO", "NWC"), (2,), "SAME"), [f32(2, 9, 3), f32(3, 3, 4)],
         ["conv_general_dilated"]),
    case("conv_3d_f32", conv(("NDHWC", "DHWIO", "NDHWC"), (1, 2, 1), "SAME"),
         [f32(1, 4, 5, 4, 2), f32(2, 3, 2, 2, 3)], ["conv_general_dilated"]),
    case("conv_transpose_f32", lambda x, w: lax.conv_transpose(x, w, (2, 2), "SAME", dimension_numbers=NHWC),
         [f32(1, 4, 5, 3), f32(3, 3, 3, 2)], ["conv_general_dilated"]),
]

REQUIRED = """
conv_general_dilated
""".split()
