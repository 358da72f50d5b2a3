//! Mobile phone numbers: parsing what a participant types or an import file holds into one
//! E.164 form, masking it for display, and the text of the SMS that carries a login code.
//!
//! French national forms are read as the French numbering plan means them: `0692 12 34 56`
//! is a mobile of La Réunion, so it becomes `+262692123456`, never `+33692123456`. Numbers
//! of other countries must be written in international form (`+44…`, `0044…`), and so must
//! those of the collectivities outside the French national plan: Saint-Pierre-et-Miquelon
//! (`+508`), New Caledonia (`+687`), French Polynesia (`+689`), Wallis-and-Futuna (`+681`).

use phonenumber::metadata::DATABASE;
use phonenumber::{Mode, Type};

/// A region of the numbering plan (ISO 3166-1 alpha-2, such as `FR` or `RE`); parse one from
/// configuration with `"RE".parse::<Region>()`.
pub use phonenumber::country::Id as Region;

/// France and its overseas departments and collectivities: where SMS may go by default.
const FRENCH_REGIONS: [Region; 12] = [
    Region::FR,
    Region::GP,
    Region::MQ,
    Region::GF,
    Region::RE,
    Region::YT,
    Region::PM,
    Region::BL,
    Region::MF,
    Region::WF,
    Region::PF,
    Region::NC,
];

/// The regions of the French national plan, whose numbers a national form (trunk `0`) may
/// name, in the order they are tried. Saint-Barthélemy and Saint-Martin share Guadeloupe's
/// numbers.
const NATIONAL_FORM_REGIONS: [Region; 6] = [
    Region::FR,
    Region::GP,
    Region::MQ,
    Region::GF,
    Region::RE,
    Region::YT,
];

/// Longer input is refused before it reaches the parser.
const MAX_INPUT_CHARS: usize = 40;

/// The default regions SMS may go to: France with its overseas departments and
/// collectivities (FR, GP, MQ, GF, RE, YT, PM, BL, MF, WF, PF, NC).
pub fn default_regions() -> Vec<Region> {
    FRENCH_REGIONS.to_vec()
}

/// Why a typed number was refused. The message never repeats the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Not a phone number at all, or not one that exists in its country's plan.
    #[error("not a valid phone number")]
    Invalid,
    /// A real number, but a landline or a special service rather than a mobile.
    #[error("not a mobile phone number")]
    NotMobile,
    /// A mobile of a country SMS may not be sent to.
    #[error("mobile phone numbers of this country are not accepted")]
    Country,
}

/// A mobile phone number in E.164 form (`+33612345678`), checked against the numbering plan.
/// Its `Debug` shows only the last two digits.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Reads `text`, a national French form (`06 12 34 56 78`, `06.12.34.56.78`,
    /// `0692 12 34 56`) or an international one (`+33 6 12 34 56 78`, `0033612345678`),
    /// and accepts it only if it is a mobile number of one of `allowed_regions`.
    pub fn parse_mobile(text: &str, allowed_regions: &[Region]) -> Result<Self, PhoneError> {
        let number = parse_any(text)?;
        let regions = mobile_regions(&number);
        let region_allowed = if regions.is_empty() {
            number
                .country()
                .id()
                .is_some_and(|id| allowed_regions.contains(&id))
        } else {
            regions.iter().any(|id| allowed_regions.contains(id))
        };
        if !region_allowed {
            return Err(PhoneError::Country);
        }
        if !is_mobile_type(number.number_type(&DATABASE)) {
            return Err(PhoneError::NotMobile);
        }
        Ok(Self(number.format().mode(Mode::E164).to_string()))
    }

    /// The number in E.164 form, as SMS operators take it.
    pub fn as_e164(&self) -> &str {
        &self.0
    }

    /// The number in E.164 form.
    pub fn into_e164(self) -> String {
        self.0
    }

    /// The number as a participant reads it, its middle hidden: `06 •• •• •• 78`.
    pub fn mask(&self) -> String {
        mask_e164(&self.0)
    }
}

impl std::fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PhoneNumber(•••{})", last_two(&self.0))
    }
}

/// A stored E.164 number as a participant reads it, its middle hidden: the national form
/// for France and its overseas regions (`06 •• •• •• 78`, `0692 •• •• 56`), the
/// international form for other countries (`+44 •••• ••••56`). Anything that does not parse
/// keeps only its last two digits.
pub fn mask_e164(e164: &str) -> String {
    let Ok(number) = phonenumber::parse(None, e164) else {
        return format!("•••{}", last_two(e164));
    };
    let french = number
        .country()
        .id()
        .is_some_and(|id| FRENCH_REGIONS.contains(&id));
    let mode = if french {
        Mode::National
    } else {
        Mode::International
    };
    hide_middle(&number.format().mode(mode).to_string())
}

/// Keeps the first group of `formatted` (the trunk prefix and the operator's digits, or
/// the country code) and its last two digits; every other digit becomes `•`.
fn hide_middle(formatted: &str) -> String {
    let digits = formatted.chars().filter(char::is_ascii_digit).count();
    let first_group = formatted
        .split(|c: char| !c.is_ascii_digit() && c != '+')
        .find(|group| !group.is_empty())
        .map_or(0, |group| {
            group.chars().filter(char::is_ascii_digit).count()
        });
    let shown_head = if first_group + 2 < digits {
        first_group
    } else {
        0
    };
    let mut seen = 0;
    formatted
        .chars()
        .map(|c| {
            if !c.is_ascii_digit() {
                return c;
            }
            seen += 1;
            if seen <= shown_head || seen + 2 > digits {
                c
            } else {
                '•'
            }
        })
        .collect()
}

/// The last two characters of `text`.
fn last_two(text: &str) -> String {
    let skip = text.chars().count().saturating_sub(2);
    text.chars().skip(skip).collect()
}

/// Any valid number of the plan, its national forms read as French.
fn parse_any(text: &str) -> Result<phonenumber::PhoneNumber, PhoneError> {
    let compact = compact(text)?;
    if compact.starts_with('+') || compact.starts_with("00") {
        let number = parse_in(Region::FR, &compact).ok_or(PhoneError::Invalid)?;
        if number.is_valid() {
            return Ok(number);
        }
        // `+33 692…` is a common slip for an overseas mobile: its French national form,
        // `0692…`, names the right department.
        if number.code().value() != 33 {
            return Err(PhoneError::Invalid);
        }
        return parse_national(&format!("0{}", national_digits(&number)));
    }
    parse_national(&compact)
}

/// A national form, read with each French region's plan in turn: the first that holds a
/// valid number wins.
fn parse_national(digits: &str) -> Result<phonenumber::PhoneNumber, PhoneError> {
    NATIONAL_FORM_REGIONS
        .iter()
        .filter_map(|&region| parse_in(region, digits))
        .find(phonenumber::PhoneNumber::is_valid)
        .ok_or(PhoneError::Invalid)
}

fn parse_in(region: Region, digits: &str) -> Option<phonenumber::PhoneNumber> {
    phonenumber::parse(Some(region), digits).ok()
}

/// `text` without its separators: digits, after a `+` when it has one. Letters and other
/// signs are refused here, as the parser would read letters as keypad digits.
fn compact(text: &str) -> Result<String, PhoneError> {
    let text = text.trim();
    if text.chars().count() > MAX_INPUT_CHARS {
        return Err(PhoneError::Invalid);
    }
    let mut compact = String::with_capacity(text.len());
    for (at, c) in text.char_indices() {
        match c {
            '0'..='9' => compact.push(c),
            '+' if at == 0 => compact.push(c),
            '.' | '-' | '/' | '(' | ')' => {}
            c if c.is_whitespace() => {}
            _ => return Err(PhoneError::Invalid),
        }
    }
    if compact.trim_start_matches('+').is_empty() {
        return Err(PhoneError::Invalid);
    }
    Ok(compact)
}

/// The national significant number, with the leading zeros some countries keep.
fn national_digits(number: &phonenumber::PhoneNumber) -> String {
    let national = number.national();
    let zeros = "0".repeat(usize::from(national.zeros()));
    format!("{zeros}{}", national.value())
}

/// Every region sharing the number's country code whose plan lists it as a mobile: a
/// mobile of Saint-Barthélemy is also one of Guadeloupe and of Saint-Martin.
fn mobile_regions(number: &phonenumber::PhoneNumber) -> Vec<Region> {
    let digits = national_digits(number);
    let plans = DATABASE.by_code(&number.code().value()).unwrap_or_default();
    plans
        .into_iter()
        .filter(|plan| {
            plan.descriptors()
                .mobile()
                .is_some_and(|d| d.is_match(&digits))
        })
        .filter_map(|plan| plan.id().parse().ok())
        .collect()
}

/// Mobiles, and numbers of plans that cannot tell a mobile from a landline.
fn is_mobile_type(kind: Type) -> bool {
    matches!(kind, Type::Mobile | Type::FixedLineOrMobile)
}

/// The GSM 03.38 basic character set, escape excepted: one septet each.
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
                          ¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// The GSM 03.38 extension table: an escape and the character, two septets each.
const GSM7_EXTENSION: &str = "\u{0C}^{}\\[~]|€";
/// What one SMS segment holds in the GSM 7-bit alphabet, in septets.
const GSM7_SEGMENT_SEPTETS: usize = 160;
/// What one SMS segment holds in UCS-2, in 16-bit units.
const UCS2_SEGMENT_UNITS: usize = 70;

/// How many septets `text` takes in the GSM 7-bit alphabet, or `None` if a character is
/// not in it (the message would then travel in UCS-2).
pub fn gsm7_septets(text: &str) -> Option<usize> {
    text.chars().try_fold(0, |septets, c| {
        if GSM7_BASIC.contains(c) {
            Some(septets + 1)
        } else if GSM7_EXTENSION.contains(c) {
            Some(septets + 2)
        } else {
            None
        }
    })
}

/// Whether `text` fits in one SMS segment: 160 septets in the GSM 7-bit alphabet, or 70
/// characters once a single character outside it forces UCS-2.
pub fn fits_one_segment(text: &str) -> bool {
    match gsm7_septets(text) {
        Some(septets) => septets <= GSM7_SEGMENT_SEPTETS,
        None => text.encode_utf16().count() <= UCS2_SEGMENT_UNITS,
    }
}

/// The SMS carrying login code `code`. It is written in the GSM 7-bit alphabet so that it
/// fits one segment, and it ends with the WebOTP line `@host #code` through which the
/// browser of the page at `host` (a host name, no scheme or port) offers to fill it in.
pub fn sms_code_text(code: &str, host: &str) -> String {
    format!("Votre code de sécurité : {code}\nNe le communiquez à personne.\n\n@{host} #{code}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn french(text: &str) -> Result<String, PhoneError> {
        PhoneNumber::parse_mobile(text, &default_regions()).map(PhoneNumber::into_e164)
    }

    #[test]
    fn reads_metropolitan_mobiles_in_every_usual_form() {
        for text in [
            "06 12 34 56 78",
            "0612345678",
            "06.12.34.56.78",
            "06-12-34-56-78",
            " 06 12 34 56 78 ",
            "06\u{a0}12\u{a0}34\u{a0}56\u{a0}78",
            "+33612345678",
            "+33 6 12 34 56 78",
            "+33 (0)6 12 34 56 78",
            "0033612345678",
            "0033 6 12 34 56 78",
        ] {
            assert_eq!(french(text), Ok("+33612345678".into()), "{text}");
        }
        assert_eq!(french("07 30 12 34 56"), Ok("+33730123456".into()));
    }

    #[test]
    fn gives_overseas_mobiles_their_own_country_code() {
        for (text, e164) in [
            ("0692 12 34 56", "+262692123456"),
            ("0693 00 12 34", "+262693001234"),
            ("0690 12 34 56", "+590690123456"),
            ("0696 12 34 56", "+596696123456"),
            ("0694 12 34 56", "+594694123456"),
            ("0639 01 23 45", "+262639012345"),
            ("0709 10 12 34", "+596709101234"),
            ("+262 692 12 34 56", "+262692123456"),
            ("00262692123456", "+262692123456"),
            ("+590 690 00 12 34", "+590690001234"),
            ("+508 55 12 34", "+508551234"),
            ("+687 75 12 34", "+687751234"),
            ("+689 87 12 34 56", "+68987123456"),
            ("+681 82 12 34", "+681821234"),
        ] {
            assert_eq!(french(text), Ok(e164.into()), "{text}");
        }
    }

    #[test]
    fn corrects_an_overseas_mobile_written_with_the_metropolitan_code() {
        assert_eq!(french("+33 6 92 12 34 56"), Ok("+262692123456".into()));
        assert_eq!(french("+33639012345"), Ok("+262639012345".into()));
    }

    #[test]
    fn refuses_landlines_and_services() {
        for text in [
            "01 23 45 67 89",
            "+33 1 23 45 67 89",
            "0262 12 34 56",
            "0590 27 12 34",
            "0805 02 02 63",
        ] {
            assert_eq!(french(text), Err(PhoneError::NotMobile), "{text}");
        }
    }

    #[test]
    fn refuses_what_is_not_a_number() {
        for text in [
            "",
            "   ",
            "+",
            "0612",
            "06 12 34 56 7",
            "06 12 34 56 78 9",
            "+33 6 12",
            "0612345678a",
            "06 CODE 78",
            "abc",
            "tel:+33612345678",
            "06+12345678",
            "07 00 00 00 00",
            "0708 40 12 34",
            "0639 12 34 56",
            "+33 6 12 34 56 78 00 00 00 00 00 00 00 00 00 00 00 00",
        ] {
            assert_eq!(french(text), Err(PhoneError::Invalid), "{text:?}");
        }
    }

    #[test]
    fn refuses_foreign_mobiles_unless_their_region_is_allowed() {
        for (text, region) in [
            ("+32 470 12 34 56", Region::BE),
            ("+44 7400 123456", Region::GB),
            ("0044 7400 123456", Region::GB),
            ("+1 202 555 0123", Region::US),
        ] {
            assert_eq!(french(text), Err(PhoneError::Country), "{text}");
            let allowed = PhoneNumber::parse_mobile(text, &[Region::FR, region]);
            assert!(allowed.is_ok(), "{text}");
        }
    }

    #[test]
    fn checks_the_region_of_the_number_itself() {
        let only_reunion = [Region::RE];
        let reunion = PhoneNumber::parse_mobile("0692 12 34 56", &only_reunion);
        assert_eq!(
            reunion.map(PhoneNumber::into_e164),
            Ok("+262692123456".into())
        );
        let metropolitan = PhoneNumber::parse_mobile("06 12 34 56 78", &only_reunion);
        assert_eq!(metropolitan, Err(PhoneError::Country));
        let mayotte = PhoneNumber::parse_mobile("0639 01 23 45", &only_reunion);
        assert_eq!(mayotte, Err(PhoneError::Country));
        // Saint-Barthélemy's mobiles are Guadeloupe's too.
        let st_barth = PhoneNumber::parse_mobile("0690 12 34 56", &[Region::BL]);
        assert!(st_barth.is_ok());
        assert_eq!(
            PhoneNumber::parse_mobile("06 12 34 56 78", &[]),
            Err(PhoneError::Country)
        );
    }

    #[test]
    fn default_regions_are_france_and_its_overseas() {
        let regions = default_regions();
        assert_eq!(regions.len(), 12);
        for region in [
            "FR", "GP", "MQ", "GF", "RE", "YT", "PM", "BL", "MF", "WF", "PF", "NC",
        ] {
            let parsed: Result<Region, _> = region.parse();
            assert!(parsed.is_ok_and(|r| regions.contains(&r)), "{region}");
        }
    }

    #[test]
    fn masks_the_middle_of_the_national_form() -> Result<(), PhoneError> {
        let regions = default_regions();
        for (text, masked) in [
            ("0612345678", "06 •• •• •• 78"),
            ("0692 12 34 56", "0692 •• •• 56"),
            ("0690 12 34 56", "0690 •• •• 56"),
            ("+687 75 12 34", "75.••.34"),
            ("+689 87 12 34 56", "87 •• •• 56"),
        ] {
            assert_eq!(
                PhoneNumber::parse_mobile(text, &regions)?.mask(),
                masked,
                "{text}"
            );
        }
        let british = PhoneNumber::parse_mobile("+447400123456", &[Region::GB])?;
        assert_eq!(british.mask(), "+44 •••• ••••56");
        Ok(())
    }

    #[test]
    fn masks_stored_numbers_that_no_longer_parse() {
        assert_eq!(mask_e164("+33612345678"), "06 •• •• •• 78");
        assert_eq!(mask_e164("not a number 42"), "•••42");
        assert_eq!(mask_e164(""), "•••");
    }

    #[test]
    fn debug_shows_only_the_last_two_digits() -> Result<(), PhoneError> {
        let number = PhoneNumber::parse_mobile("06 12 34 56 78", &default_regions())?;
        assert_eq!(format!("{number:?}"), "PhoneNumber(•••78)");
        Ok(())
    }

    #[test]
    fn errors_do_not_repeat_the_number() {
        for error in [
            PhoneError::Invalid,
            PhoneError::NotMobile,
            PhoneError::Country,
        ] {
            assert!(!error.to_string().chars().any(|c| c.is_ascii_digit()));
        }
    }

    #[test]
    fn counts_gsm7_septets() {
        assert_eq!(GSM7_BASIC.chars().count(), 127);
        assert_eq!(gsm7_septets("Votre code : 123456"), Some(19));
        assert_eq!(gsm7_septets("à é è ù ì ò Ç É @ £ $ _"), Some(23));
        assert_eq!(gsm7_septets("{€}"), Some(6));
        assert_eq!(gsm7_septets("[~]|^\\"), Some(12));
        for c in [
            "ç", "â", "ê", "î", "ô", "û", "ë", "ï", "œ", "’", "«", "\u{a0}", "😀",
        ] {
            assert_eq!(gsm7_septets(c), None, "{c}");
        }
    }

    #[test]
    fn one_segment_holds_160_septets_or_70_ucs2_characters() {
        assert!(fits_one_segment(&"a".repeat(160)));
        assert!(!fits_one_segment(&"a".repeat(161)));
        assert!(fits_one_segment(&"€".repeat(80)));
        assert!(!fits_one_segment(&format!("{}€", "a".repeat(159))));
        assert!(fits_one_segment(&format!("ç{}", "a".repeat(69))));
        assert!(!fits_one_segment(&format!("ç{}", "a".repeat(70))));
        assert!(!fits_one_segment(&format!("😀{}", "a".repeat(69))));
    }

    #[test]
    fn the_code_text_fits_one_gsm7_segment_for_hosts_up_to_60_characters() {
        for length in 1..=60 {
            let host = "h".repeat(length);
            let text = sms_code_text("123456", &host);
            assert!(gsm7_septets(&text).is_some(), "{text}");
            assert!(fits_one_segment(&text), "host of {length}: {text}");
        }
        let long_host = format!("{}.example.org", "a".repeat(48));
        assert!(fits_one_segment(&sms_code_text("987654", &long_host)));
    }

    #[test]
    fn the_code_text_ends_with_the_webotp_line() {
        let text = sms_code_text("123456", "login.example.org");
        assert_eq!(text.lines().last(), Some("@login.example.org #123456"));
        assert!(text.ends_with("\n@login.example.org #123456"));
        assert!(text.starts_with("Votre code de sécurité : 123456\n"));
    }
}
