// Package learning is the digital-literacy platform: courses on digital
// skills, online safety and traffic safety for every student and citizen,
// with quizzes, mastery per competence, progress per class and school,
// certificates in the wallet, and community classes for people who cannot
// learn alone.
//
// A course is a folder of Markdown lessons with front matter (titles in
// Vietnamese, English and Arabic, the DigComp competence area and level,
// durations) and question banks in Moodle's GIFT format (content.go,
// gift.go); a new course needs no code. Three courses ship embedded and are
// loaded at start; operators import more with `civitas learning import`.
// Lessons are rendered by a small Markdown renderer of its own that writes
// only its own elements (markdown.go); HTML in imported questions is
// cleaned to an allow-list (htmlclean.go).
//
// Learners enrol, read lessons and take quizzes drawn at random from the
// banks; every attempt is scored here, on the server, against the snapshot
// of the questions it drew (attempt.go). Passing the final test issues a
// course_certificate into the learner's wallet through Certificates, with
// the school (or the provincial education department) as issuer. Teachers
// set courses to their classes with deadlines, follow progress, reset
// attempts and extend deadlines (teach.go); schools and classes come from
// the registry through Schools. Technology teams schedule in-person
// sessions, record attendance and mark people as trained (community.go).
//
// It declares what it needs of others in its own types (Accounts,
// Schools, Officials, Certificates, UseLog) and never imports another
// capability: the adapters are in app.
//
// It must never put a question's answers or feedback in a page before the
// attempt is submitted, never score anything the learner's browser says,
// never let a learner see another's attempts (a guardian sees their
// child's, a teacher their classes'), never allow more attempts at the
// final test than the course gives, never pass raw HTML from a lesson or a
// question to a page, and it writes every read of a learner's progress by
// a teacher to the data-use log.
package learning
