//! What a voucher buys: `OFFER-NNd`, e.g. `premium-30d`.

use onefichier_protocol::user::Offer;
use std::fmt;
use std::str::FromStr;

/// A voucher's service: an offer and a number of days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoucherService {
    /// The offer granted.
    pub offer: Offer,
    /// Days added to the subscription.
    pub days: u32,
}

/// The error for a malformed service.
#[derive(Debug, thiserror::Error)]
#[error("voucher service {0:?} is not OFFER-NNd (e.g. premium-30d) with a paying offer")]
pub struct ServiceError(String);

impl FromStr for VoucherService {
    type Err = ServiceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let error = || ServiceError(s.to_owned());
        let (offer, days) = s.rsplit_once('-').ok_or_else(error)?;
        let offer: Offer = offer.parse().map_err(|_| error())?;
        let days: u32 = days
            .strip_suffix('d')
            .and_then(|d| d.parse().ok())
            .filter(|d| (1..=3660).contains(d))
            .ok_or_else(error)?;
        if !offer.is_customer() {
            return Err(error());
        }
        Ok(Self { offer, days })
    }
}

impl fmt::Display for VoucherService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}d", self.offer, self.days)
    }
}

impl VoucherService {
    /// The offer and subscription end after applying the voucher: days are added to what is
    /// left of the current subscription, and a better offer is kept.
    pub fn apply(self, current: Offer, end: Option<i64>, now: i64) -> (Offer, i64) {
        let start = end.filter(|e| *e > now).unwrap_or(now);
        let offer = if current.is_customer() && rank(current) > rank(self.offer) {
            current
        } else {
            self.offer
        };
        (offer, start + i64::from(self.days) * 86_400)
    }
}

fn rank(offer: Offer) -> u8 {
    match offer {
        Offer::Free => 0,
        Offer::Access => 1,
        Offer::Premium => 2,
        Offer::Gold => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_parse_and_apply() {
        let s: VoucherService = "premium-30d".parse().unwrap();
        assert_eq!(s.to_string(), "premium-30d");
        assert!("free-30d".parse::<VoucherService>().is_err());
        assert!("premium-30".parse::<VoucherService>().is_err());
        assert_eq!(
            s.apply(Offer::Free, None, 100),
            (Offer::Premium, 100 + 30 * 86_400)
        );
        assert_eq!(
            s.apply(Offer::Gold, Some(1_000), 100),
            (Offer::Gold, 1_000 + 30 * 86_400)
        );
    }
}
