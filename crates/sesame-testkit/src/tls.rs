//! An https front for tests: a throwaway certificate for 127.0.0.1 made by the test run
//! (with the `openssl` command), and a loopback TLS listener that hands each connection's
//! bytes to a plain backend, as a TLS-terminating proxy does.

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;

use anyhow::{Context, anyhow, bail};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};

/// The listener and the certificate browsers must trust.
pub struct TlsFront {
    pub addr: SocketAddr,
    /// The authority's certificate, PEM: the only root a test client needs.
    pub cert_pem: String,
    task: tokio::task::JoinHandle<()>,
}

impl TlsFront {
    /// Listens on a free loopback port and forwards to `backend`.
    pub async fn start(backend: SocketAddr) -> anyhow::Result<Self> {
        crate::browser::install_crypto();
        let (cert_pem, chain_pem, key_pem) = throwaway_certificate()?;
        let certs = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow!("certificate: {e}"))?;
        let key =
            PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| anyhow!("key: {e}"))?;
        let config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(certs, key)?;
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(socket).await else {
                        return;
                    };
                    let Ok(mut plain) = TcpStream::connect(backend).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
        Ok(Self {
            addr,
            cert_pem,
            task,
        })
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A certificate for `127.0.0.1`, valid for a day, signed by a throwaway authority: the
/// authority's certificate (what clients trust) and the server's chain and key, PEM.
fn throwaway_certificate() -> anyhow::Result<(String, String, String)> {
    let dir = tempfile::tempdir()?;
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let (ca, ca_key, csr, cert, key, ext) = (
        path("ca.pem"),
        path("ca.key"),
        path("server.csr"),
        path("server.pem"),
        path("server.key"),
        path("server.ext"),
    );
    std::fs::write(
        &ext,
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
         extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n",
    )?;
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(&[
        &["req", "-x509"],
        &ec[..],
        &["-days", "1", "-subj", "/CN=Sesame test authority"],
        &["-keyout", &ca_key, "-out", &ca],
    ])?;
    openssl(&[
        &["req"],
        &ec[..],
        &["-subj", "/CN=127.0.0.1", "-keyout", &key, "-out", &csr],
    ])?;
    openssl(&[
        &["x509", "-req", "-in", &csr, "-CA", &ca, "-CAkey", &ca_key],
        &[
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            &ext,
            "-out",
            &cert,
        ],
    ])?;
    let read = |p: &str| std::fs::read_to_string(p);
    Ok((read(&ca)?, read(&cert)?, read(&key)?))
}

fn openssl(args: &[&[&str]]) -> anyhow::Result<()> {
    let status = Command::new("openssl")
        .args(args.concat())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .context("openssl (the test certificate)")?;
    if !status.success() {
        bail!("openssl could not make the test certificate");
    }
    Ok(())
}
