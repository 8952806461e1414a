//go:build !unix

package extraction

import "time"

func processCPU() (time.Duration, bool) { return 0, false }
