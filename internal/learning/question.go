package learning

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// Kind is the kind of a question, as Moodle's question types.
type Kind string

// The kinds of questions the GIFT format gives and civitas scores.
const (
	KindChoice    Kind = "choice"    // one right answer among choices (radio buttons)
	KindMulti     Kind = "multi"     // several answers with weights, partial credit (checkboxes)
	KindTrueFalse Kind = "truefalse" // true or false
	KindShort     Kind = "short"     // a typed answer matched against accepted answers
	KindNumerical Kind = "numerical" // a number within a tolerance
	KindMatching  Kind = "matching"  // each item matched to an answer
)

// Question is one question of a bank, with what scores it. Texts are HTML
// already made safe (the allow-list cleaner or the Markdown renderer); the
// accepted answers of short-answer and matching questions are plain text.
// A question's answers never leave the server before its attempt is
// submitted: the pages show QuestionView.
type Question struct {
	ID       string `json:"id"`
	Bank     string `json:"bank"`
	Name     string `json:"name,omitempty"`
	Category string `json:"category,omitempty"` // the GIFT $CATEGORY it came under
	Line     int    `json:"line"`               // in its GIFT file
	Kind     Kind   `json:"kind"`
	Text     string `json:"text"`              // HTML
	General  string `json:"general,omitempty"` // general feedback (####), HTML
	// Choices of choice and multi questions.
	Choices []Choice `json:"choices,omitempty"`
	// Truth is the right answer of a true/false question; TrueFeedback is
	// shown to whoever answered true, FalseFeedback to whoever answered false.
	Truth         bool   `json:"truth,omitempty"`
	TrueFeedback  string `json:"true_feedback,omitempty"`
	FalseFeedback string `json:"false_feedback,omitempty"`
	// Answers of short-answer and numerical questions.
	Answers []Answer `json:"answers,omitempty"`
	// Wrong is the feedback for any other answer of a numerical question.
	Wrong string `json:"wrong,omitempty"`
	// Pairs of a matching question; a pair without Sub is a distractor answer.
	Pairs []Pair `json:"pairs,omitempty"`
	// Competence is the DigComp (or the course's own) competence the
	// question assesses: its lesson's.
	Competence string `json:"competence,omitempty"`
}

// Choice is a choice of a choice or multi question.
type Choice struct {
	Text     string  `json:"text"`     // HTML
	Fraction float64 `json:"fraction"` // -1 to 1 of the question's mark
	Feedback string  `json:"feedback,omitempty"`
}

// Answer is an accepted answer of a short-answer or numerical question.
type Answer struct {
	Text      string  `json:"text,omitempty"` // short answer: plain text, * matches anything
	Value     float64 `json:"value,omitempty"`
	Tolerance float64 `json:"tolerance,omitempty"`
	Fraction  float64 `json:"fraction"`
	Feedback  string  `json:"feedback,omitempty"`
}

// Pair is one item of a matching question and its answer.
type Pair struct {
	Sub    string `json:"sub,omitempty"` // HTML; "" for an answer that matches no item
	Answer string `json:"answer"`        // plain text
}

// identify gives the question its ID: a hash of where it is and what it
// says, so that importing the same bank again keeps the IDs of the
// questions that did not change.
func (q *Question) identify(course string) {
	c := *q
	c.ID, c.Line, c.Competence = "", 0, ""
	b, _ := json.Marshal(c)
	h := sha256.New()
	h.Write([]byte(course))
	h.Write([]byte{0})
	h.Write(b)
	q.ID = hex.EncodeToString(h.Sum(nil)[:12])
}
