//! Judging the webhook's serving certificate against the caBundle the API server will use: does
//! the bundle verify it for the Service's DNS name, and how long until it expires. Pure: the chain
//! comes from a TLS handshake (see `admin::CaptureChain`), the time is a parameter.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, Error as TlsError, RootCertStore};

/// Warn when the certificate expires sooner than this.
pub const EXPIRY_WARNING: Duration = Duration::from_secs(30 * 24 * 60 * 60);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertVerdict {
    /// Verifies now and for at least `EXPIRY_WARNING`; `not_after` when known.
    Valid {
        not_after: Option<u64>,
    },
    ExpiringSoon {
        not_after: u64,
    },
    Expired {
        not_after: Option<u64>,
    },
    /// The bundle does not verify the certificate (or cannot be used); the reason.
    Untrusted(String),
}

/// Parses the caBundle (PEM, possibly several certificates) into a root store.
pub fn roots_from_bundle(ca_bundle: &[u8]) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    let mut count = 0;
    for cert in CertificateDer::pem_slice_iter(ca_bundle) {
        let cert = cert.map_err(|e| format!("caBundle is not valid PEM: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("caBundle holds an unusable certificate: {e}"))?;
        count += 1;
    }
    if count == 0 {
        return Err("caBundle holds no PEM certificate".to_string());
    }
    Ok(roots)
}

/// A verifier trusting exactly the caBundle.
pub fn verifier(ca_bundle: &[u8]) -> Result<Arc<WebPkiServerVerifier>, String> {
    let roots = roots_from_bundle(ca_bundle)?;
    WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots),
        Arc::new(rustls::crypto::ring::default_provider()),
    )
    .build()
    .map_err(|e| format!("cannot build a verifier from the caBundle: {e}"))
}

fn unix(secs: u64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(secs))
}

/// Judges `chain` (leaf first) served for `server_name` against `ca_bundle` at `now` (Unix secs).
pub fn judge(
    ca_bundle: &[u8],
    chain: &[CertificateDer<'_>],
    server_name: &str,
    now: u64,
) -> CertVerdict {
    let verifier = match verifier(ca_bundle) {
        Ok(v) => v,
        Err(e) => return CertVerdict::Untrusted(e),
    };
    let Some((leaf, intermediates)) = chain.split_first() else {
        return CertVerdict::Untrusted("the webhook presented no certificate".to_string());
    };
    let name = match ServerName::try_from(server_name.to_string()) {
        Ok(n) => n,
        Err(e) => return CertVerdict::Untrusted(format!("bad server name {server_name}: {e}")),
    };
    let verify_at =
        |secs: u64| verifier.verify_server_cert(leaf, intermediates, &name, &[], unix(secs));
    match verify_at(now) {
        Ok(_) => {}
        Err(TlsError::InvalidCertificate(CertificateError::ExpiredContext {
            not_after, ..
        })) => {
            return CertVerdict::Expired {
                not_after: Some(not_after.as_secs()),
            };
        }
        Err(TlsError::InvalidCertificate(CertificateError::Expired)) => {
            return CertVerdict::Expired { not_after: None };
        }
        Err(e) => return CertVerdict::Untrusted(e.to_string()),
    }
    let soon = now.saturating_add(EXPIRY_WARNING.as_secs());
    match verify_at(soon) {
        Err(TlsError::InvalidCertificate(CertificateError::ExpiredContext {
            not_after, ..
        })) => CertVerdict::ExpiringSoon {
            not_after: not_after.as_secs(),
        },
        Err(TlsError::InvalidCertificate(CertificateError::Expired)) => {
            // Without the date, say the window.
            CertVerdict::ExpiringSoon { not_after: soon }
        }
        _ => {
            // Verifying far in the future makes webpki name the expiry date.
            let not_after = match verify_at(now.saturating_add(1000 * 365 * 24 * 60 * 60)) {
                Err(TlsError::InvalidCertificate(CertificateError::ExpiredContext {
                    not_after,
                    ..
                })) => Some(not_after.as_secs()),
                _ => None,
            };
            CertVerdict::Valid { not_after }
        }
    }
}

/// `2026-12-01T10:00:00Z`.
pub fn format_time(secs: u64) -> String {
    humantime::format_rfc3339_seconds(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
        .to_string()
}

/// `in 12 days` / `3 days ago`.
pub fn relative_days(not_after: u64, now: u64) -> String {
    const DAY: u64 = 24 * 60 * 60;
    if not_after >= now {
        let days = (not_after - now) / DAY;
        match days {
            0 => "in less than a day".to_string(),
            1 => "in 1 day".to_string(),
            n => format!("in {n} days"),
        }
    } else {
        let days = (now - not_after) / DAY;
        match days {
            0 => "less than a day ago".to_string(),
            1 => "1 day ago".to_string(),
            n => format!("{n} days ago"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};

    const DAY: u64 = 24 * 60 * 60;

    /// rcgen takes `time` dates; from the epoch plus seconds avoids a direct `time` dependency.
    macro_rules! time {
        ($secs:expr) => {
            rcgen::date_time_ymd(1970, 1, 1) + Duration::from_secs($secs)
        };
    }

    struct Pki {
        ca_pem: String,
        leaf: CertificateDer<'static>,
        /// Leaf's notAfter in Unix seconds.
        not_after: u64,
    }

    /// A CA and a leaf for `dns`, the leaf valid until `now + days_left`.
    fn pki(dns: &str, now: u64, days_left: i64) -> Pki {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.not_before = time!(now - 400 * DAY);
        ca_params.not_after = time!(now + 4000 * DAY);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);

        let leaf_key = KeyPair::generate().unwrap();
        let mut leaf_params = CertificateParams::new(vec![dns.to_string()]).unwrap();
        let not_after = (now as i64 + days_left * DAY as i64) as u64;
        leaf_params.not_before = time!(now - 200 * DAY);
        leaf_params.not_after = time!(not_after);
        let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();
        Pki {
            ca_pem: ca.pem(),
            leaf: leaf.der().clone(),
            not_after,
        }
    }

    const NOW: u64 = 1_800_000_000;
    const NAME: &str = "meshctl-injector.meshctl-system.svc";

    #[test]
    fn a_long_lived_certificate_is_valid_and_its_expiry_known() {
        let pki = pki(NAME, NOW, 365);
        assert_eq!(
            judge(pki.ca_pem.as_bytes(), &[pki.leaf], NAME, NOW),
            CertVerdict::Valid {
                not_after: Some(pki.not_after)
            }
        );
    }

    #[test]
    fn expiring_within_30_days_is_a_warning() {
        let pki = pki(NAME, NOW, 10);
        assert_eq!(
            judge(pki.ca_pem.as_bytes(), &[pki.leaf], NAME, NOW),
            CertVerdict::ExpiringSoon {
                not_after: pki.not_after
            }
        );
    }

    #[test]
    fn an_expired_certificate_is_expired() {
        let pki = pki(NAME, NOW, -3);
        assert_eq!(
            judge(pki.ca_pem.as_bytes(), &[pki.leaf], NAME, NOW),
            CertVerdict::Expired {
                not_after: Some(pki.not_after)
            }
        );
    }

    #[test]
    fn another_ca_or_another_name_is_untrusted() {
        let served = pki(NAME, NOW, 365);
        let other = pki(NAME, NOW, 365);
        assert!(matches!(
            judge(
                other.ca_pem.as_bytes(),
                std::slice::from_ref(&served.leaf),
                NAME,
                NOW
            ),
            CertVerdict::Untrusted(_)
        ));
        assert!(matches!(
            judge(served.ca_pem.as_bytes(), &[served.leaf], "other.svc", NOW),
            CertVerdict::Untrusted(_)
        ));
    }

    #[test]
    fn a_bundle_without_certificates_is_untrusted() {
        let served = pki(NAME, NOW, 365);
        assert_eq!(
            judge(b"not pem", &[served.leaf], NAME, NOW),
            CertVerdict::Untrusted("caBundle holds no PEM certificate".to_string())
        );
    }

    #[test]
    fn relative_days_reads_naturally() {
        assert_eq!(relative_days(NOW + 12 * DAY + 5, NOW), "in 12 days");
        assert_eq!(relative_days(NOW - 3 * DAY, NOW), "3 days ago");
        assert_eq!(format_time(0), "1970-01-01T00:00:00Z");
    }
}
