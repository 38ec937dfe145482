/* synth_vocab — the synthesized models' SentencePiece-style "llama"
 * vocabulary: <unk> <s> </s>, the 256 byte tokens, then useful pieces and
 * fillers (synth_vocab_token in synth.h). */
#include "modelgen/synth.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Vocabulary                                                           */

#define SP "\xe2\x96\x81" /* U+2581, SentencePiece's space */

/* Normal tokens after the byte tokens, most useful first: "▁", single
 * characters, "▁" + letter, common English (and TinyStories) words with
 * every prefix so SentencePiece merges can reach them, common suffixes.
 * Unique; none has the "▁w<digits>" form of the fillers that follow. */
static const char *const pieces[] = {
    SP, "e", "t", "a", "o", "i", "n", "s", "h", "r", "d", "l", "c", "u", "m", "w", "f", "g", "y", "p", "b",
    "v", "k", "j", "x", "q", "z", "E", "T", "A", "O", "I", "N", "S", "H", "R", "D", "L", "C", "U", "M", "W",
    "F", "G", "Y", "P", "B", "V", "K", "J", "X", "Q", "Z", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9",
    ".", ",", "!", "?", "'", "\"", "-", ":", ";", "(", ")", SP "e", SP "t", SP "a", SP "o", SP "i", SP "n",
    SP "s", SP "h", SP "r", SP "d", SP "l", SP "c", SP "u", SP "m", SP "w", SP "f", SP "g", SP "y", SP "p",
    SP "b", SP "v", SP "k", SP "j", SP "x", SP "q", SP "z", SP "E", SP "T", SP "A", SP "O", SP "I", SP "N",
    SP "S", SP "H", SP "R", SP "D", SP "L", SP "C", SP "U", SP "M", SP "W", SP "F", SP "G", SP "Y", SP "P",
    SP "B", SP "V", SP "K", SP "J", SP "X", SP "Q", SP "Z", SP "th", SP "the", SP "of", SP "an", SP "and",
    SP "to", SP "in", SP "is", SP "wa", SP "was", SP "he", SP "sh", SP "she", SP "it", SP "fo", SP "for",
    SP "on", SP "tha", SP "that", SP "wi", SP "wit", SP "with", SP "as", SP "hi", SP "his", SP "her",
    SP "they", SP "at", SP "be", SP "thi", SP "this", SP "ha", SP "had", SP "no", SP "not", SP "bu",
    SP "but", SP "fr", SP "fro", SP "from", SP "by", SP "hav", SP "have", SP "yo", SP "you", SP "ar",
    SP "are", SP "or", SP "one", SP "al", SP "all", SP "we", SP "wer", SP "were", SP "wh", SP "whe",
    SP "when", SP "ther", SP "there", SP "ca", SP "can", SP "whi", SP "whic", SP "which", SP "thei",
    SP "their", SP "sa", SP "sai", SP "said", SP "if", SP "do", SP "wil", SP "will", SP "ea", SP "eac",
    SP "each", SP "ab", SP "abo", SP "abou", SP "about", SP "ho", SP "how", SP "up", SP "ou", SP "out",
    SP "them", SP "then", SP "so", SP "som", SP "some", SP "wo", SP "wou", SP "woul", SP "would", SP "ma",
    SP "mak", SP "make", SP "li", SP "lik", SP "like", SP "him", SP "int", SP "into", SP "ti", SP "tim",
    SP "time", SP "has", SP "lo", SP "loo", SP "look", SP "tw", SP "two", SP "mo", SP "mor", SP "more",
    SP "go", SP "se", SP "see", SP "way", SP "co", SP "cou", SP "coul", SP "could", SP "my", SP "than",
    SP "fi", SP "fir", SP "firs", SP "first", SP "bee", SP "been", SP "who", SP "its", SP "now", SP "da",
    SP "day", SP "di", SP "did", SP "ge", SP "get", SP "com", SP "come", SP "mad", SP "made", SP "may",
    SP "pa", SP "par", SP "part", SP "onc", SP "once", SP "upo", SP "upon", SP "lit", SP "litt", SP "littl",
    SP "little", SP "gi", SP "gir", SP "girl", SP "bo", SP "boy", SP "na", SP "nam", SP "name", SP "named",
    SP "Li", SP "Lil", SP "Lily", SP "To", SP "Tom", SP "Be", SP "Ben", SP "Su", SP "Sue", SP "Mo", SP "Mom",
    SP "Da", SP "Dad", SP "mom", SP "dad", SP "hap", SP "happ", SP "happy", SP "bi", SP "big", SP "ve",
    SP "ver", SP "very", SP "pl", SP "pla", SP "play", SP "playe", SP "played", SP "saw", SP "wen",
    SP "went", SP "wan", SP "want", SP "wante", SP "wanted", SP "fri", SP "frie", SP "frien", SP "friend",
    SP "friends", SP "tr", SP "tre", SP "tree", SP "ba", SP "bal", SP "ball", SP "dog", SP "cat", SP "bir",
    SP "bird", SP "su", SP "sun", SP "park", SP "fu", SP "fun", SP "toy", SP "toys", SP "hel", SP "help",
    SP "sad", SP "goo", SP "good", SP "ne", SP "new", SP "lov", SP "love", SP "loved", SP "liked", SP "fou",
    SP "foun", SP "found", SP "thank", SP "thanks", SP "Th", SP "The", SP "Ther", SP "There", SP "On",
    SP "Onc", SP "Once", SP "He", SP "Sh", SP "She", SP "They", SP "One", SP "It", SP "Bu", SP "But",
    SP "Wh", SP "Whe", SP "When", SP "Wha", SP "What", SP "Then", SP "Mi", SP "Mia", SP "Ma", SP "Max",
    SP "Ti", SP "Tim", SP "Sa", SP "Sam", SP "An", SP "Ann", SP "Anna", SP "Ja", SP "Jac", SP "Jack",
    SP "hom", SP "home", SP "hou", SP "hous", SP "house", SP "ro", SP "roo", SP "room", SP "car", SP "re",
    SP "red", SP "bl", SP "blu", SP "blue", SP "gr", SP "gre", SP "gree", SP "green", SP "ye", SP "yel",
    SP "yell", SP "yello", SP "yellow", SP "sm", SP "sma", SP "smal", SP "small", SP "ol", SP "old",
    SP "lon", SP "long", SP "ni", SP "nic", SP "nice", SP "ki", SP "kin", SP "kind", SP "sor", SP "sorr",
    SP "sorry", SP "sc", SP "sca", SP "scar", SP "scare", SP "scared", SP "smi", SP "smil", SP "smile",
    SP "smiled", SP "la", SP "lau", SP "laug", SP "laugh", SP "laughe", SP "laughed", SP "ra", SP "ran",
    SP "ju", SP "jum", SP "jump", SP "jumpe", SP "jumped", SP "wal", SP "walk", SP "walke", SP "walked",
    SP "looke", SP "looked", SP "ask", SP "aske", SP "asked", SP "tol", SP "told", SP "kn", SP "kno",
    SP "know", SP "kne", SP "knew", SP "thin", SP "think", SP "tho", SP "thou", SP "thoug", SP "though",
    SP "thought", SP "fe", SP "fel", SP "felt", SP "fee", SP "feel", SP "hu", SP "hug", SP "hugg",
    SP "hugge", SP "hugged", SP "mot", SP "moth", SP "mothe", SP "mother", SP "fa", SP "fat", SP "fath",
    SP "fathe", SP "father", SP "si", SP "sis", SP "sist", SP "siste", SP "sister", SP "br", SP "bro",
    SP "brot", SP "broth", SP "brothe", SP "brother", SP "bab", SP "baby", SP "wat", SP "wate", SP "water",
    SP "foo", SP "food", SP "cak", SP "cake", SP "ap", SP "app", SP "appl", SP "apple", SP "box", SP "bag",
    SP "wha", SP "what", SP "wher", SP "where", SP "why", SP "bec", SP "beca", SP "becau", SP "becaus",
    SP "because", SP "af", SP "aft", SP "afte", SP "after", SP "bef", SP "befo", SP "befor", SP "before",
    SP "ag", SP "aga", SP "agai", SP "again", SP "bac", SP "back", SP "dow", SP "down", SP "ov", SP "ove",
    SP "over", SP "un", SP "und", SP "unde", SP "under", SP "aro", SP "arou", SP "aroun", SP "around",
    SP "aw", SP "awa", SP "away", SP "ev", SP "eve", SP "ever", SP "every", SP "ot", SP "oth", SP "othe",
    SP "other", SP "jus", SP "just", SP "onl", SP "only", SP "als", SP "also", SP "too", "in", "ing", "ed",
    "er", "ly", "es", "est", "ti", "tio", "tion", "me", "men", "ment", "ne", "nes", "ness", "fu", "ful",
    "le", "les", "less", "ab", "abl", "able", "en", "ie", SP ".", SP ",", SP "!", SP "?", SP "'", SP "\"",
};

#define N_PIECES ((int64_t)(sizeof pieces / sizeof pieces[0]))

size_t synth_vocab_token(int64_t id, char *buf, size_t buf_len, float *score, int32_t *token_type)
{
    int n;
    float sc = 0.0f;
    int32_t tt = 1; /* NORMAL */
    if (id == 0) {
        n = snprintf(buf, buf_len, "<unk>");
        tt = 2; /* UNKNOWN */
    } else if (id == 1 || id == 2) {
        n = snprintf(buf, buf_len, id == 1 ? "<s>" : "</s>");
        tt = 3; /* CONTROL */
    } else if (id < 259) {
        n = snprintf(buf, buf_len, "<0x%02X>", (unsigned)(id - 3));
        tt = 6; /* BYTE */
    } else {
        int64_t k = id - 259;
        if (k < N_PIECES)
            n = snprintf(buf, buf_len, "%s", pieces[k]);
        else
            n = snprintf(buf, buf_len, SP "w%" PRId64, k - N_PIECES);
        sc = k == 0 ? 0.0f : -(float)k;
    }
    if (score)
        *score = sc;
    if (token_type)
        *token_type = tt;
    if (n < 0)
        return 0;
    return (size_t)n < buf_len ? (size_t)n : (buf_len ? buf_len - 1 : 0);
}
