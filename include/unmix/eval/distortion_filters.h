#pragma once
// The distortion filters of BSSEval: least-squares projection of estimates onto the span of reference
// signals delayed by 0 .. filters_len-1 samples, through the normal equations, as museval solves them.
#include <Eigen/Dense>
#include <span>

#include "unmix/eval/lagged_correlation.h"

namespace unmix::eval {

// Gram matrix of the delayed x signals first .. first+count-1 of `corr` (whose y side must list the same
// signals at the same indices): G[(a, p), (b, q)] = <x_a delayed p, x_b delayed q> = r_ab[q - p], rows and
// columns ordered a * filters_len + p. Built exactly symmetric from the a <= b correlations.
Eigen::MatrixXd delayed_gram(const LaggedCorrelations& corr, int first, int count, int filters_len);

// Cross terms with the y signals `y_columns`: D[(a, p), e] = <x_a delayed p, y_e> = r_{a, y_e}[-p].
Eigen::MatrixXd delayed_cross(const LaggedCorrelations& corr, int first, int count, std::span<const int> y_columns,
                              int filters_len);

// museval's solve: (G + eps I) C = D with eps the double machine epsilon, by LU with partial pivoting
// (what numpy.linalg.solve runs); when that matrix is exactly singular, the minimum-norm least-squares
// solution of G C = D instead (numpy.linalg.lstsq).
// relative_regularization > 0 also scales G's diagonal by (1 + relative_regularization): a Tikhonov load
// proportional to each reference channel's energy, so directions of G below the rounding noise of its own
// computation (relative ~1e-15) stop producing huge, rounding-dependent filter taps, whatever the sources'
// levels; the loaded matrix is then solved by Cholesky (LU if rounding left it indefinite).
// See BssEvalOptions::regularization.
Eigen::MatrixXd solve_distortion_filters(const Eigen::MatrixXd& gram, const Eigen::MatrixXd& cross,
                                         double relative_regularization = 0.0);

}  // namespace unmix::eval
