//go:build !unix

package gost

func cpuSeconds() float64 { return -1 }
