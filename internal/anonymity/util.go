package anonymity

import "sort"

func sortFloats(xs []float64) { sort.Float64s(xs) }
