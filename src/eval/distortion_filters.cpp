#include "unmix/eval/distortion_filters.h"

#include <limits>

namespace unmix::eval {

Eigen::MatrixXd delayed_gram(const LaggedCorrelations& corr, int first, int count, int filters_len) {
  const int L = filters_len;
  Eigen::MatrixXd gram(static_cast<Eigen::Index>(count) * L, static_cast<Eigen::Index>(count) * L);
  for (int a = 0; a < count; ++a)
    for (int b = a; b < count; ++b)
      for (int p = 0; p < L; ++p)
        for (int q = 0; q < L; ++q) {
          const double v = corr(first + a, first + b, q - p);
          gram(a * L + p, b * L + q) = v;
          gram(b * L + q, a * L + p) = v;
        }
  return gram;
}

Eigen::MatrixXd delayed_cross(const LaggedCorrelations& corr, int first, int count, std::span<const int> y_columns,
                              int filters_len) {
  const int L = filters_len;
  Eigen::MatrixXd cross(static_cast<Eigen::Index>(count) * L, static_cast<Eigen::Index>(y_columns.size()));
  for (int a = 0; a < count; ++a)
    for (std::size_t e = 0; e < y_columns.size(); ++e)
      for (int p = 0; p < L; ++p) cross(a * L + p, static_cast<Eigen::Index>(e)) = corr(first + a, y_columns[e], -p);
  return cross;
}

Eigen::MatrixXd solve_distortion_filters(const Eigen::MatrixXd& gram, const Eigen::MatrixXd& cross,
                                         double relative_regularization) {
  Eigen::MatrixXd regularized = gram;
  // Each diagonal entry is the energy of one reference channel; loading it in proportion keeps the result
  // independent of every reference's level (a quiet source is regularized no more than a loud one).
  regularized.diagonal() = (gram.diagonal().array() * (1.0 + relative_regularization) +
                            std::numeric_limits<double>::epsilon())
                               .matrix();
  if (relative_regularization > 0) {
    // Loaded, the matrix is symmetric positive definite: Cholesky, half the work of LU. Should rounding
    // still leave it indefinite, fall through to museval's LU.
    const Eigen::LLT<Eigen::MatrixXd> llt(regularized);
    if (llt.info() == Eigen::Success) return llt.solve(cross);
  }
  const Eigen::PartialPivLU<Eigen::MatrixXd> lu(regularized);
  // LAPACK's gesv (numpy.linalg.solve) fails exactly when a pivot is zero.
  if ((lu.matrixLU().diagonal().array() != 0.0).all()) return lu.solve(cross);
  return gram.bdcSvd(Eigen::ComputeThinU | Eigen::ComputeThinV).solve(cross);
}

}  // namespace unmix::eval
