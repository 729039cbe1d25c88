//! The injector's TLS material: a CA (shared by the replicas through a Secret) and a serving
//! certificate signed by it, or a certificate and key from files (cert-manager mode).

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum TlsError {
    #[error("cannot generate {what}: {source}")]
    Generate {
        what: &'static str,
        source: rcgen::Error,
    },
    #[error("{what}: not a valid PEM {expected}")]
    Pem {
        what: String,
        expected: &'static str,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("TLS configuration rejected the certificate: {0}")]
    Rustls(#[from] rustls::Error),
}

/// A CA as PEM text, as stored in the `meshctl-injector-ca` Secret.
#[derive(Clone, PartialEq, Eq)]
pub struct CaMaterial {
    pub cert_pem: String,
    pub key_pem: String,
}

impl std::fmt::Debug for CaMaterial {
    // Never print the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaMaterial").finish_non_exhaustive()
    }
}

/// A serving certificate chain and its key, as PEM text.
#[derive(Clone)]
pub struct ServingMaterial {
    pub cert_pem: String,
    pub key_pem: String,
}

const CA_COMMON_NAME: &str = "meshctl-injector-ca";
const CA_YEARS: i32 = 10;
const SERVING_YEARS: i32 = 5;

/// The CA's parameters. They are rebuilt identically from code when a replica signs with a CA
/// another replica created: the issuer name and key usages come from here, the key from the
/// Secret.
fn ca_params(valid_from: (i32, u8, u8), years: i32) -> CertificateParams {
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, CA_COMMON_NAME);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "meshctl");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    set_validity(&mut params, valid_from, years);
    params
}

fn set_validity(params: &mut CertificateParams, (y, m, d): (i32, u8, u8), years: i32) {
    // A day of slack for clocks that lag ours.
    let (py, pm, pd) = civil_from_days(days_from_civil(y, m, d) - 1);
    params.not_before = rcgen::date_time_ymd(py, pm, pd);
    params.not_after = rcgen::date_time_ymd(y + years, m, d.min(28));
}

/// A new CA (ECDSA P-256).
pub fn generate_ca() -> Result<CaMaterial, TlsError> {
    let key = KeyPair::generate().map_err(|source| TlsError::Generate {
        what: "CA key",
        source,
    })?;
    let cert = ca_params(today(), CA_YEARS)
        .self_signed(&key)
        .map_err(|source| TlsError::Generate {
            what: "CA certificate",
            source,
        })?;
    Ok(CaMaterial {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// A serving certificate for `dns_names`, signed by `ca`, with a fresh key.
pub fn issue_serving_cert(
    ca: &CaMaterial,
    dns_names: &[String],
) -> Result<ServingMaterial, TlsError> {
    let ca_key = KeyPair::from_pem(&ca.key_pem).map_err(|_| TlsError::Pem {
        what: "CA key".to_string(),
        expected: "private key",
    })?;
    let issuer = Issuer::new(ca_params(today(), CA_YEARS), ca_key);
    let key = KeyPair::generate().map_err(|source| TlsError::Generate {
        what: "serving key",
        source,
    })?;
    let mut params =
        CertificateParams::new(dns_names.to_vec()).map_err(|source| TlsError::Generate {
            what: "serving certificate",
            source,
        })?;
    if let Some(first) = dns_names.first() {
        params.distinguished_name.push(DnType::CommonName, first);
    }
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    set_validity(&mut params, today(), SERVING_YEARS);
    let cert = params
        .signed_by(&key, &issuer)
        .map_err(|source| TlsError::Generate {
            what: "serving certificate",
            source,
        })?;
    Ok(ServingMaterial {
        // The chain: leaf, then the CA (clients trust the CA through caBundle either way).
        cert_pem: format!("{}{}", cert.pem(), ca.cert_pem),
        key_pem: key.serialize_pem(),
    })
}

/// Checks that stored CA material parses (a Secret edited by hand must not crash the webhook).
pub fn check_ca(ca: &CaMaterial) -> Result<(), TlsError> {
    KeyPair::from_pem(&ca.key_pem).map_err(|_| TlsError::Pem {
        what: "CA key".to_string(),
        expected: "private key",
    })?;
    parse_certs("CA certificate", ca.cert_pem.as_bytes())?;
    Ok(())
}

fn parse_certs(what: &str, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs: Vec<_> = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .map_err(|_| TlsError::Pem {
            what: what.to_string(),
            expected: "certificate",
        })?;
    if certs.is_empty() {
        return Err(TlsError::Pem {
            what: what.to_string(),
            expected: "certificate",
        });
    }
    Ok(certs)
}

/// A rustls server configuration (HTTP/1.1) for a PEM chain and key.
pub fn server_config(
    what: &str,
    cert_pem: &[u8],
    key_pem: &[u8],
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let certs = parse_certs(what, cert_pem)?;
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|_| TlsError::Pem {
        what: format!("{what} key"),
        expected: "private key",
    })?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Serves the certificate and key from files (cert-manager's Secret, mounted), re-reading them
/// when they change: cert-manager renews the Secret and the kubelet swaps the mounted files, and
/// the webhook must follow without a restart.
pub fn server_config_from_files(
    cert_path: &Path,
    key_path: &Path,
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let resolver = ReloadingCert::new(cert_path, key_path, provider.clone())?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// How often the files are checked for a change (a stat per handshake would be wasteful).
const RELOAD_CHECK: Duration = Duration::from_secs(10);

#[derive(Debug)]
struct ReloadingCert {
    cert_path: PathBuf,
    key_path: PathBuf,
    provider: Arc<rustls::crypto::CryptoProvider>,
    state: RwLock<Loaded>,
}

#[derive(Debug)]
struct Loaded {
    key: Arc<CertifiedKey>,
    stamp: FileStamp,
    checked: Instant,
}

/// What identifies a version of the two files.
type FileStamp = (Option<SystemTime>, Option<SystemTime>, u64, u64);

impl ReloadingCert {
    fn new(
        cert_path: &Path,
        key_path: &Path,
        provider: Arc<rustls::crypto::CryptoProvider>,
    ) -> Result<Self, TlsError> {
        let stamp = file_stamp(cert_path, key_path);
        let key = load_certified_key(cert_path, key_path, &provider)?;
        Ok(ReloadingCert {
            cert_path: cert_path.to_path_buf(),
            key_path: key_path.to_path_buf(),
            provider,
            state: RwLock::new(Loaded {
                key,
                stamp,
                checked: Instant::now(),
            }),
        })
    }

    fn current(&self) -> Option<Arc<CertifiedKey>> {
        {
            let state = self.state.read().ok()?;
            if state.checked.elapsed() < RELOAD_CHECK {
                return Some(state.key.clone());
            }
        }
        let mut state = self.state.write().ok()?;
        state.checked = Instant::now();
        let stamp = file_stamp(&self.cert_path, &self.key_path);
        if stamp != state.stamp {
            // Half-written files fail to load: keep serving the old pair and retry next time.
            match load_certified_key(&self.cert_path, &self.key_path, &self.provider) {
                Ok(key) => {
                    state.key = key;
                    state.stamp = stamp;
                    crate::output::note(format!(
                        "reloaded serving certificate {}",
                        self.cert_path.display()
                    ));
                }
                Err(err) => crate::output::note(format!("keeping the old certificate: {err}")),
            }
        }
        Some(state.key.clone())
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current()
    }
}

fn file_stamp(cert_path: &Path, key_path: &Path) -> FileStamp {
    let meta = |p: &Path| std::fs::metadata(p).ok();
    let (cert, key) = (meta(cert_path), meta(key_path));
    (
        cert.as_ref().and_then(|m| m.modified().ok()),
        key.as_ref().and_then(|m| m.modified().ok()),
        cert.map_or(0, |m| m.len()),
        key.map_or(0, |m| m.len()),
    )
}

fn load_certified_key(
    cert_path: &Path,
    key_path: &Path,
    provider: &rustls::crypto::CryptoProvider,
) -> Result<Arc<CertifiedKey>, TlsError> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|source| TlsError::Read {
            path: path.display().to_string(),
            source,
        })
    };
    let what = cert_path.display().to_string();
    let certs = parse_certs(&what, &read(cert_path)?)?;
    let key = PrivateKeyDer::from_pem_slice(&read(key_path)?).map_err(|_| TlsError::Pem {
        what: key_path.display().to_string(),
        expected: "private key",
    })?;
    Ok(Arc::new(CertifiedKey::from_der(certs, key, provider)?))
}

/// Today's date (UTC) from the system clock.
fn today() -> (i32, u8, u8) {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    civil_from_days(i64::try_from(secs / 86_400).unwrap_or(0))
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i32, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year as i32, month as u8, day as u8)
}

fn days_from_civil(year: i32, month: u8, day: u8) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
        assert_eq!(
            days_from_civil(2000, 3, 1) - days_from_civil(2000, 2, 28),
            2
        );
    }

    #[test]
    fn serving_cert_from_a_stored_ca_makes_a_server_config() {
        let ca = generate_ca().unwrap();
        check_ca(&ca).unwrap();
        let names = vec!["meshctl-injector.meshctl-system.svc".to_string()];
        let serving = issue_serving_cert(&ca, &names).unwrap();
        server_config(
            "test",
            serving.cert_pem.as_bytes(),
            serving.key_pem.as_bytes(),
        )
        .unwrap();
        assert!(format!("{ca:?}").find("PRIVATE").is_none());
    }

    #[test]
    fn files_are_reloaded_when_they_change() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
        let ca = generate_ca().unwrap();
        let first = issue_serving_cert(&ca, &["a".into()]).unwrap();
        std::fs::write(&cert, &first.cert_pem).unwrap();
        std::fs::write(&key, &first.key_pem).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let resolver = ReloadingCert::new(&cert, &key, provider).unwrap();
        let before = resolver.current().unwrap();

        let second = issue_serving_cert(&ca, &["b".into()]).unwrap();
        std::fs::write(&cert, &second.cert_pem).unwrap();
        std::fs::write(&key, &second.key_pem).unwrap();
        // Force the next call to look at the files (instead of waiting RELOAD_CHECK).
        resolver.state.write().unwrap().checked = Instant::now() - RELOAD_CHECK;
        resolver.state.write().unwrap().stamp.2 += 1;
        let after = resolver.current().unwrap();
        assert_ne!(
            before.cert[0], after.cert[0],
            "certificate was not reloaded"
        );

        // A broken file keeps the last good pair.
        std::fs::write(&cert, "garbage").unwrap();
        resolver.state.write().unwrap().checked = Instant::now() - RELOAD_CHECK;
        assert_eq!(resolver.current().unwrap().cert[0], after.cert[0]);
    }

    #[test]
    fn garbage_material_is_an_error() {
        let bad = CaMaterial {
            cert_pem: "not a cert".into(),
            key_pem: "not a key".into(),
        };
        assert!(check_ca(&bad).is_err());
        assert!(issue_serving_cert(&bad, &["x".into()]).is_err());
        assert!(server_config("x", b"junk", b"junk").is_err());
    }
}
