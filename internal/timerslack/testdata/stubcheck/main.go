// Command stubcheck prints, from its package init (before any code of
// hako's runs), the timer slack of each of its threads: linked with
// -E=...timerslack.entry they all have the coarse one already.
package main

import (
	"fmt"
	"os"
	"strings"

	_ "github.com/hako-dev/hako/internal/timerslack"
)

func init() {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	for _, t := range tasks {
		b, err := os.ReadFile("/proc/" + t.Name() + "/timerslack_ns")
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println(strings.TrimSpace(string(b)))
	}
}

func main() {}
