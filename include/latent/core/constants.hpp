// latent/core/constants.hpp: mathematical constants as functions of the scalar type.
//
// Functions rather than variable templates so that Eigen::AutoDiffScalar (not a literal
// type) works. Digits from the OEIS / mpmath at 40 digits.
#pragma once

namespace latent {

/// \f$\pi\f$
template <class S = double>
inline S pi() { return S(3.141592653589793238462643383279502884); }
/// \f$\log 2\f$
template <class S = double>
inline S log_two() { return S(0.6931471805599453094172321214581765681); }
/// \f$\log \pi\f$
template <class S = double>
inline S log_pi() { return S(1.144729885849400174143427351353058712); }
/// \f$\log 2\pi\f$: the constant of every Gaussian log-density.
template <class S = double>
inline S log_two_pi() { return S(1.837877066409345483560659472811235280); }
/// \f$\tfrac12 \log 2\pi\f$
template <class S = double>
inline S half_log_two_pi() { return S(0.9189385332046727417803297364056176398); }
/// \f$\sqrt 2\f$
template <class S = double>
inline S sqrt_two() { return S(1.414213562373095048801688724209698079); }
/// \f$1/\sqrt{2\pi}\f$
template <class S = double>
inline S inv_sqrt_two_pi() { return S(0.3989422804014326779399460599343818685); }
/// \f$1/\log 2\f$: nats to bits.
template <class S = double>
inline S inv_log_two() { return S(1.442695040888963407359924681001892137); }

}  // namespace latent
