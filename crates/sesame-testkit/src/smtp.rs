//! A real SMTP listener on loopback, so that tests see the mails Sesame sends exactly as a
//! mail server would: over TCP, through lettre, with their transfer encodings.
//!
//! The sink speaks just enough SMTP for lettre: no STARTTLS, no AUTH, no pipelining. It keeps
//! every mail it accepts, decoded, until it is dropped: a multipart mail is taken apart into
//! its text and HTML parts.

use std::io;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_PAD_INDIFFERENT as BASE64;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};

/// The name the sink gives itself in its replies.
const HOSTNAME: &str = "sesame-sink.localhost";

/// A mail as the sink received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMail {
    /// The envelope sender (`MAIL FROM`), empty for a null sender.
    pub from: String,
    /// The envelope recipients (`RCPT TO`), in order.
    pub to: Vec<String>,
    /// The `Subject` header, with RFC 2047 encoded words decoded.
    pub subject: String,
    /// The text: the body, or the first `text/plain` part of a multipart mail, with its
    /// transfer encoding undone, line breaks as `\n`.
    pub body: String,
    /// The first `text/html` part (or an HTML body), decoded the same way; `None` if none.
    pub html: Option<String>,
    /// The message as it came after `DATA`, dot-unstuffed, lines joined with CRLF.
    pub raw: String,
}

/// An SMTP server on `127.0.0.1` and an ephemeral port, for one test.
///
/// Dropping it stops the listener and every open connection.
#[derive(Debug)]
pub struct SmtpSink {
    port: u16,
    inbox: Arc<Inbox>,
    task: JoinHandle<()>,
}

impl SmtpSink {
    /// Binds `127.0.0.1:0` and starts accepting connections; call it inside a Tokio runtime.
    pub fn start() -> io::Result<Self> {
        let runtime = tokio::runtime::Handle::try_current().map_err(io::Error::other)?;
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let listener = {
            let _entered = runtime.enter();
            TcpListener::from_std(listener)?
        };
        let inbox = Arc::new(Inbox::default());
        let task = runtime.spawn(accept_loop(listener, Arc::clone(&inbox)));
        Ok(Self { port, inbox, task })
    }

    /// The port the sink listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A lettre URL for the sink: `smtp://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Waits up to `timeout` for the next mail to `to` (compared without regard to ASCII
    /// case) that no earlier call returned.
    pub async fn wait_for(&self, to: &str, timeout: Duration) -> Option<ReceivedMail> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let arrived = self.inbox.arrived.notified();
            tokio::pin!(arrived);
            // Registered before looking, so a mail landing in between still wakes us.
            arrived.as_mut().enable();
            if let Some(mail) = self.inbox.take(to) {
                return Some(mail);
            }
            tokio::time::timeout_at(deadline, arrived).await.ok()?;
        }
    }

    /// Every mail received so far, oldest first, whether returned by `wait_for` or not.
    pub fn all(&self) -> Vec<ReceivedMail> {
        self.inbox
            .slots()
            .iter()
            .map(|slot| slot.mail.clone())
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The first standalone 6-digit number in `body` (not part of a longer word or number).
pub fn extract_code(body: &str) -> Option<String> {
    body.split(|c: char| !c.is_alphanumeric())
        .find(|word| word.len() == 6 && word.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_owned)
}

/// The mails received, shared by the sessions and the sink's handle.
#[derive(Debug, Default)]
struct Inbox {
    mails: Mutex<Vec<Slot>>,
    arrived: Notify,
}

#[derive(Debug)]
struct Slot {
    mail: ReceivedMail,
    taken: bool,
}

impl Inbox {
    fn slots(&self) -> MutexGuard<'_, Vec<Slot>> {
        self.mails.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, mail: ReceivedMail) {
        self.slots().push(Slot { mail, taken: false });
        self.arrived.notify_waiters();
    }

    fn take(&self, to: &str) -> Option<ReceivedMail> {
        let mut slots = self.slots();
        let slot = slots
            .iter_mut()
            .find(|slot| !slot.taken && slot.mail.to.iter().any(|r| r.eq_ignore_ascii_case(to)))?;
        slot.taken = true;
        Some(slot.mail.clone())
    }
}

async fn accept_loop(listener: TcpListener, inbox: Arc<Inbox>) {
    // Owning the sessions here means aborting this task closes them all.
    let mut sessions = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    sessions.spawn(serve(stream, Arc::clone(&inbox)));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = sessions.join_next() => {}
        }
    }
}

/// What the session does after a command.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    Reply(String),
    ReadData,
    Quit,
}

fn reply(text: &str) -> Step {
    Step::Reply(text.to_owned())
}

/// The transaction under way: the envelope gathered since the last reset.
#[derive(Debug, Default)]
struct Envelope {
    from: Option<String>,
    to: Vec<String>,
}

impl Envelope {
    fn command(&mut self, line: &str) -> Step {
        let (verb, arg) = line.split_once(' ').unwrap_or((line, ""));
        match verb.to_ascii_uppercase().as_str() {
            "EHLO" => self.reset(ehlo_reply()),
            "HELO" => self.reset(format!("250 {HOSTNAME}")),
            "MAIL" => self.mail_from(arg),
            "RCPT" => self.rcpt_to(arg),
            "DATA" if self.to.is_empty() => reply("503 5.5.1 RCPT TO first"),
            "DATA" => Step::ReadData,
            "RSET" => self.reset("250 2.0.0 OK".to_owned()),
            "NOOP" => reply("250 2.0.0 OK"),
            "QUIT" => Step::Quit,
            _ => reply("502 5.5.2 Command not implemented"),
        }
    }

    fn reset(&mut self, answer: String) -> Step {
        *self = Self::default();
        Step::Reply(answer)
    }

    fn mail_from(&mut self, arg: &str) -> Step {
        match parse_path(arg, "FROM:") {
            Some(from) => {
                *self = Self {
                    from: Some(from),
                    to: Vec::new(),
                };
                reply("250 2.1.0 OK")
            }
            None => reply("501 5.5.4 Syntax: MAIL FROM:<address>"),
        }
    }

    fn rcpt_to(&mut self, arg: &str) -> Step {
        if self.from.is_none() {
            return reply("503 5.5.1 MAIL FROM first");
        }
        match parse_path(arg, "TO:") {
            Some(to) if !to.is_empty() => {
                self.to.push(to);
                reply("250 2.1.5 OK")
            }
            _ => reply("501 5.5.4 Syntax: RCPT TO:<address>"),
        }
    }

    /// Closes the transaction with the message data.
    fn finish(&mut self, raw: String) -> ReceivedMail {
        let envelope = std::mem::take(self);
        parse_mail(envelope.from.unwrap_or_default(), envelope.to, raw)
    }
}

fn ehlo_reply() -> String {
    format!("250-{HOSTNAME}\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 10485760")
}

/// The address in `FROM:<a@b> PARAMS` or `TO:<a@b>`.
fn parse_path(arg: &str, keyword: &str) -> Option<String> {
    let head = arg.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = arg.get(keyword.len()..)?.trim_start().strip_prefix('<')?;
    rest.split_once('>').map(|(address, _)| address.to_owned())
}

async fn serve(stream: TcpStream, inbox: Arc<Inbox>) -> io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let mut envelope = Envelope::default();
    send(&mut write, &format!("220 {HOSTNAME} ESMTP test sink")).await?;
    while let Some(line) = read_line(&mut read).await? {
        match envelope.command(&line) {
            Step::Reply(text) => send(&mut write, &text).await?,
            Step::Quit => return send(&mut write, "221 2.0.0 Bye").await,
            Step::ReadData => {
                send(&mut write, "354 End data with <CR><LF>.<CR><LF>").await?;
                let Some(raw) = read_data(&mut read).await? else {
                    return Ok(());
                };
                inbox.push(envelope.finish(raw));
                send(&mut write, "250 2.0.0 OK queued").await?;
            }
        }
    }
    Ok(())
}

async fn send(write: &mut (impl AsyncWriteExt + Unpin), text: &str) -> io::Result<()> {
    write.write_all(format!("{text}\r\n").as_bytes()).await
}

/// One line without its line break; `None` at the end of the stream.
async fn read_line(read: &mut (impl AsyncBufRead + Unpin)) -> io::Result<Option<String>> {
    let mut bytes = Vec::new();
    if read.read_until(b'\n', &mut bytes).await? == 0 {
        return Ok(None);
    }
    let line = String::from_utf8_lossy(&bytes);
    Ok(Some(line.trim_end_matches(['\r', '\n']).to_owned()))
}

/// The lines after `DATA` up to the lone dot, dot-unstuffed; `None` if the client left.
async fn read_data(read: &mut (impl AsyncBufRead + Unpin)) -> io::Result<Option<String>> {
    let mut lines = Vec::new();
    while let Some(line) = read_line(read).await? {
        if line == "." {
            return Ok(Some(lines.join("\r\n")));
        }
        let unstuffed = line.strip_prefix('.').unwrap_or(&line);
        lines.push(unstuffed.to_owned());
    }
    Ok(None)
}

fn parse_mail(from: String, to: Vec<String>, raw: String) -> ReceivedMail {
    let (head, body) = split_message(&raw);
    let headers = unfold(head);
    let subject = header(&headers, "Subject")
        .map(decode_words)
        .unwrap_or_default();
    let mut parts = Vec::new();
    collect_parts(&headers, body, &mut parts);
    let first = |wanted: &str| {
        parts
            .iter()
            .find(|part| part.mime == wanted)
            .map(|part| part.text.clone())
    };
    ReceivedMail {
        from,
        to,
        subject,
        body: first("text/plain").unwrap_or_default(),
        html: first("text/html"),
        raw,
    }
}

/// The header block and the body, split at the first empty line.
fn split_message(raw: &str) -> (&str, &str) {
    if let Some(body) = raw.strip_prefix("\r\n").or_else(|| raw.strip_prefix('\n')) {
        return ("", body);
    }
    raw.split_once("\r\n\r\n")
        .or_else(|| raw.split_once("\n\n"))
        .unwrap_or((raw, ""))
}

/// A leaf of the MIME tree, decoded.
struct Part {
    /// The media type, lowercase, without parameters.
    mime: String,
    text: String,
}

/// Walks the MIME tree under `headers` and `body`, pushing its leaves in order.
fn collect_parts(headers: &[(String, String)], body: &str, out: &mut Vec<Part>) {
    let content_type = header(headers, "Content-Type").unwrap_or("text/plain");
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let boundary = param(content_type, "boundary").filter(|_| mime.starts_with("multipart/"));
    if let Some(boundary) = boundary {
        for part in split_parts(body, &boundary) {
            let (head, body) = split_message(part);
            collect_parts(&unfold(head), body, out);
        }
        return;
    }
    let encoding = header(headers, "Content-Transfer-Encoding").unwrap_or("7bit");
    let charset = param(content_type, "charset").map(|c| c.to_ascii_lowercase());
    let bytes = decode_body(body, encoding);
    let text = to_text(&bytes, charset.as_deref().unwrap_or("utf-8")).replace("\r\n", "\n");
    out.push(Part { mime, text });
}

/// The parts of a multipart body between its `--boundary` lines (RFC 2046 §5.1.1): the
/// line break before each delimiter belongs to it, and the preamble and epilogue are left out.
fn split_parts<'a>(body: &'a str, boundary: &str) -> Vec<&'a str> {
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut start = None;
    let mut offset = 0;
    for line in body.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\r', '\n']).trim_end();
        let rest = bare
            .strip_prefix(&delimiter)
            .filter(|r| r.is_empty() || *r == "--");
        if let Some(rest) = rest {
            if let Some(begin) = start {
                let part = &body[begin..offset];
                let part = part.strip_suffix('\n').unwrap_or(part);
                parts.push(part.strip_suffix('\r').unwrap_or(part));
            }
            if rest == "--" {
                return parts;
            }
            start = Some(offset + line.len());
        }
        offset += line.len();
    }
    parts
}

/// Header fields as (name, value), folded lines joined back.
fn unfold(head: &str) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        match headers.last_mut() {
            Some((_, value)) if line.starts_with([' ', '\t']) => value.push_str(line),
            _ => {
                if let Some((name, value)) = line.split_once(':') {
                    headers.push((name.trim().to_owned(), value.trim().to_owned()));
                }
            }
        }
    }
    headers
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A parameter of a `Content-Type` value (`charset`, `boundary`), unquoted.
fn param(content_type: &str, wanted: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        let found = name.trim().eq_ignore_ascii_case(wanted);
        found.then(|| value.trim().trim_matches('"').to_owned())
    })
}

fn decode_body(body: &str, encoding: &str) -> Vec<u8> {
    match encoding.trim().to_ascii_lowercase().as_str() {
        "base64" => decode_base64(body).unwrap_or_else(|| body.as_bytes().to_vec()),
        "quoted-printable" => decode_quoted_printable(body),
        _ => body.as_bytes().to_vec(),
    }
}

fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    BASE64.decode(compact).ok()
}

/// Undoes quoted-printable (RFC 2045 §6.7): `=XX` escapes and `=` soft line breaks.
fn decode_quoted_printable(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut lines = text.split('\n').peekable();
    while let Some(line) = lines.next() {
        let line = line.trim_end_matches('\r').trim_end_matches([' ', '\t']);
        match line.strip_suffix('=') {
            Some(soft) => out.extend(unescape(soft, false)),
            None => {
                out.extend(unescape(line, false));
                if lines.peek().is_some() {
                    out.extend_from_slice(b"\r\n");
                }
            }
        }
    }
    out
}

/// Decodes `=XX` escapes; in RFC 2047 Q words `_` also stands for a space.
fn unescape(text: &str, underscore_is_space: bool) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = bytes
            .get(i + 1..i + 3)
            .filter(|_| bytes[i] == b'=')
            .and_then(hex_byte);
        match (escaped, bytes[i]) {
            (Some(byte), _) => {
                out.push(byte);
                i += 3;
                continue;
            }
            (None, b'_') if underscore_is_space => out.push(b' '),
            (None, other) => out.push(other),
        }
        i += 1;
    }
    out
}

fn hex_byte(pair: &[u8]) -> Option<u8> {
    let text = std::str::from_utf8(pair).ok()?;
    u8::from_str_radix(text, 16).ok()
}

fn to_text(bytes: &[u8], charset: &str) -> String {
    match charset {
        "iso-8859-1" | "latin1" | "latin-1" => bytes.iter().map(|&b| char::from(b)).collect(),
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// Decodes RFC 2047 encoded words in a header value. Adjacent words are joined without
/// the whitespace between them, and their bytes are joined before the charset is applied,
/// so a character split across two words survives.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut pending: Option<(String, Vec<u8>)> = None;
    let mut gap = "";
    for token in tokens(value) {
        if token.starts_with(char::is_whitespace) {
            gap = token;
            continue;
        }
        match decode_word(token) {
            Some((charset, bytes)) => match pending.as_mut() {
                Some((open, held)) if *open == charset => held.extend(bytes),
                _ => {
                    flush(&mut out, pending.take());
                    out.push_str(gap);
                    pending = Some((charset, bytes));
                }
            },
            None => {
                flush(&mut out, pending.take());
                out.push_str(gap);
                out.push_str(token);
            }
        }
        gap = "";
    }
    flush(&mut out, pending);
    out
}

fn flush(out: &mut String, pending: Option<(String, Vec<u8>)>) {
    if let Some((charset, bytes)) = pending {
        out.push_str(&to_text(&bytes, &charset));
    }
}

/// Splits `value` into alternating runs of whitespace and of other characters.
fn tokens(value: &str) -> Vec<&str> {
    let mut tokens = Vec::new();
    let mut start = 0;
    let mut chars = value.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        let boundary = chars
            .peek()
            .map(|&(i, next)| (i, next.is_whitespace() != c.is_whitespace()));
        match boundary {
            Some((i, true)) => {
                tokens.push(&value[start..i]);
                start = i;
            }
            Some((_, false)) => {}
            None => tokens.push(&value[start..]),
        }
    }
    tokens
}

/// One `=?charset?B|Q?text?=` word: its charset (lowercase, language dropped) and bytes.
fn decode_word(token: &str) -> Option<(String, Vec<u8>)> {
    let inner = token.strip_prefix("=?")?.strip_suffix("?=")?;
    let mut parts = inner.splitn(3, '?');
    let charset = parts.next()?.split('*').next()?.to_ascii_lowercase();
    let encoding = parts.next()?;
    let text = parts.next()?;
    let bytes = match encoding {
        "B" | "b" => decode_base64(text)?,
        "Q" | "q" => unescape(text, true),
        _ => return None,
    };
    Some((charset, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_the_first_standalone_six_digit_number() {
        let body = "Dossier 1234567, lien /r/ab123456cd : votre code est 042917.\nPuis 111111.";
        assert_eq!(extract_code(body), Some("042917".to_owned()));
        assert_eq!(extract_code("code 12345 ou 1234567"), None);
        assert_eq!(extract_code("123456"), Some("123456".to_owned()));
    }

    #[test]
    fn decodes_encoded_word_subjects() {
        let b = "=?utf-8?b?Vm90cmUgY29kZSBkZSBjb25uZXhp?=\r\n =?utf-8?b?b24gw6A=?= Sesame";
        let headers = unfold(&format!("Subject: {b}"));
        assert_eq!(
            header(&headers, "subject").map(decode_words),
            Some("Votre code de connexion à Sesame".to_owned())
        );
        assert_eq!(
            decode_words("=?UTF-8?Q?Code_d=C3=A9j=C3=A0_envoy=C3=A9?="),
            "Code déjà envoyé"
        );
        assert_eq!(decode_words("=?iso-8859-1?q?caf=E9?= noir"), "café noir");
        assert_eq!(decode_words("plain  text"), "plain  text");
    }

    #[test]
    fn joins_a_character_split_across_two_words() {
        // "é" is C3 A9; each word carries one byte of it.
        assert_eq!(decode_words("=?utf-8?q?caf=C3?= =?utf-8?q?=A9?="), "café");
    }

    #[test]
    fn decodes_quoted_printable_with_soft_breaks() {
        let body = "Bonjour,=\r\n vous =C3=AAtes =3D pr=C3=AAt.\r\nCode : 123456";
        let bytes = decode_quoted_printable(body);
        assert_eq!(
            to_text(&bytes, "utf-8"),
            "Bonjour, vous êtes = prêt.\r\nCode : 123456"
        );
    }

    #[test]
    fn parses_a_base64_mail() {
        let raw = "Subject: =?utf-8?b?w6l0w6k=?=\r\nContent-Type: text/plain; charset=utf-8\r\n\
                   Content-Transfer-Encoding: base64\r\n\r\nw6l0w6kK\r\nbGlnbmU=";
        let mail = parse_mail("a@x".into(), vec!["b@y".into()], raw.into());
        assert_eq!(
            (mail.subject.as_str(), mail.body.as_str()),
            ("été", "été\nligne")
        );
    }

    #[test]
    fn takes_a_multipart_mail_apart() {
        let raw = "Subject: s\r\nMIME-Version: 1.0\r\n\
                   Content-Type: multipart/alternative;\r\n boundary=\"b-1\"\r\n\r\n\
                   preamble\r\n--b-1\r\nContent-Type: text/plain; charset=utf-8\r\n\
                   Content-Transfer-Encoding: base64\r\n\r\nw6l0w6kK\r\nbGlnbmU=\r\n\
                   --b-1 \r\nContent-Type: text/html; charset=\"UTF-8\"\r\n\
                   Content-Transfer-Encoding: quoted-printable\r\n\r\n\
                   <p>=C3=A9t=C3=A9 &amp;=\r\n co</p>\r\n--b-1--\r\nepilogue";
        let mail = parse_mail("a@x".into(), vec!["b@y".into()], raw.into());
        assert_eq!(mail.body, "été\nligne");
        assert_eq!(mail.html.as_deref(), Some("<p>été &amp; co</p>"));
    }

    #[test]
    fn finds_the_parts_of_nested_multiparts() {
        let raw = "Content-Type: multipart/mixed; boundary=out\r\n\r\n--out\r\n\
                   Content-Type: multipart/alternative; boundary=in\r\n\r\n\
                   --in\r\n\r\ntexte\r\n--in\r\nContent-Type: text/html\r\n\r\n\
                   <b>x</b>\r\n--in--\r\n--out--\r\n";
        let mail = parse_mail("a@x".into(), vec!["b@y".into()], raw.into());
        assert_eq!(mail.body, "texte");
        assert_eq!(mail.html.as_deref(), Some("<b>x</b>"));
        let plain = parse_mail(
            "a@x".into(),
            vec!["b@y".into()],
            "Subject: s\r\n\r\nok".into(),
        );
        assert_eq!((plain.body.as_str(), plain.html), ("ok", None));
    }

    #[test]
    fn parses_paths_and_their_parameters() {
        assert_eq!(
            parse_path("FROM:<a@b.org> BODY=8BITMIME", "FROM:"),
            Some("a@b.org".into())
        );
        assert_eq!(parse_path("from: <>", "FROM:"), Some(String::new()));
        assert_eq!(parse_path("TO:a@b.org", "TO:"), None);
    }

    #[test]
    fn refuses_commands_out_of_order() {
        let mut envelope = Envelope::default();
        assert_eq!(
            envelope.command("RCPT TO:<b@y>"),
            reply("503 5.5.1 MAIL FROM first")
        );
        assert_eq!(envelope.command("DATA"), reply("503 5.5.1 RCPT TO first"));
        assert_eq!(
            envelope.command("STARTTLS"),
            reply("502 5.5.2 Command not implemented")
        );
        assert_eq!(envelope.command("MAIL FROM:<a@x>"), reply("250 2.1.0 OK"));
        assert_eq!(envelope.command("RCPT TO:<b@y>"), reply("250 2.1.5 OK"));
        assert_eq!(envelope.command("data"), Step::ReadData);
    }

    #[tokio::test]
    async fn unstuffs_dots_over_tcp() -> io::Result<()> {
        let sink = SmtpSink::start()?;
        let stream = TcpStream::connect(("127.0.0.1", sink.port())).await?;
        let (read, mut write) = stream.into_split();
        let mut read = BufReader::new(read);
        let script = "EHLO t\r\nMAIL FROM:<a@x>\r\nRCPT TO:<B@y>\r\nDATA\r\n\
                      Subject: s\r\n\r\n..leading dot\r\nend\r\n.\r\nQUIT\r\n";
        write.write_all(script.as_bytes()).await?;
        let mut replies = Vec::new();
        while let Some(line) = read_line(&mut read).await? {
            replies.push(line);
        }
        assert_eq!(replies.last().map(String::as_str), Some("221 2.0.0 Bye"));
        let mail = sink.wait_for("b@y", Duration::from_secs(5)).await;
        assert_eq!(mail.map(|m| m.body), Some(".leading dot\nend".to_owned()));
        assert_eq!(sink.wait_for("b@y", Duration::from_millis(50)).await, None);
        assert_eq!(sink.all().len(), 1);
        Ok(())
    }
}
