package cli

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/spf13/cobra"
)

func init() { register(newEventsCmd) }

// event is the line shape `runc events` prints and go-runc parses.
type event struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Data any    `json:"data,omitempty"`
}

func newEventsCmd() *cobra.Command {
	var stats bool
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "events [--stats] [--interval 5s] <container-id>",
		Short: "display container events such as OOM notifications and resource usage statistics",
		Args:  exactID,
		RunE: func(cmd *cobra.Command, args []string) error {
			if interval <= 0 {
				return fmt.Errorf("--interval must be positive, got %s", interval)
			}
			rt, err := openRuntime()
			if err != nil {
				return err
			}
			var mu sync.Mutex
			enc := json.NewEncoder(cmd.OutOrStdout())
			emit := func(e event) error {
				mu.Lock()
				defer mu.Unlock()
				return enc.Encode(e)
			}
			if !stats {
				// OOM kills as they happen, between the stats.
				if n, err := rt.NotifyOOM(args[0]); err == nil {
					done := make(chan struct{})
					go func() {
						defer close(done)
						for n.Wait() {
							emit(event{Type: "oom", ID: args[0]})
						}
					}()
					defer func() { n.Stop(); <-done; n.Release() }()
				}
			}
			for {
				s, err := rt.Stats(args[0])
				if err != nil {
					if stats {
						return err
					}
					return nil // the container went away: the stream ends
				}
				if err := emit(event{Type: "stats", ID: args[0], Data: s}); err != nil {
					return err
				}
				if stats {
					return nil
				}
				time.Sleep(interval)
			}
		},
	}
	cmd.Flags().BoolVar(&stats, "stats", false, "display the container's stats then exit")
	cmd.Flags().DurationVar(&interval, "interval", 5*time.Second, "set the stats collection interval")
	return cmd
}
