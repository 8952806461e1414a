package pdf

// PageScores are the figures the unreadable-page check rests on, exported
// for the tests, which report their distribution on the shared PDFs.
type PageScores struct {
	Words                        int
	OddShare, FunShare, PvtShare float64
	Unreadable                   bool
}

// ScorePage scores one page's text as extractPages does.
func ScorePage(text string) PageScores {
	r := measure(text)
	return PageScores{Words: r.words, OddShare: r.oddShare, FunShare: r.funShare, PvtShare: r.pvtShare, Unreadable: r.unreadable()}
}
