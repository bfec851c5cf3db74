package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/medaudit/medaudit/auth"
	"github.com/medaudit/medaudit/pipeline"
)

func newUsersCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "users", Short: "People who sign in: create users and API tokens"}
	var (
		db        dbFlags
		u         auth.User
		districts string
		stdin     bool
	)
	add := &cobra.Command{
		Use:   "add --id ID --role auditor|reviewer|supervisor|admin --districts 330106,… [--expert ID] --password-stdin",
		Short: "Create a user (the first admin, or anyone); the password is read from standard input",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !stdin {
				return errors.New("--password-stdin is required: pass the password on standard input, never on the command line")
			}
			pw, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
			if err != nil && pw == "" {
				return fmt.Errorf("read password: %w", err)
			}
			u.Districts = strings.Split(districts, ",")
			return db.with(cmd, false, func(d *pipeline.DB) error {
				if err := auth.NewStore(d.DB, time.Now, auth.DefaultConfig()).CreateUser(cmd.Context(), u, strings.TrimRight(pw, "\r\n")); err != nil {
					return err
				}
				return printJSON(cmd, map[string]any{"user_id": u.ID, "role": u.Role, "districts": u.Districts})
			})
		},
	}
	db.register(add)
	add.Flags().StringVar(&u.ID, "id", "", "user id (sign-in name)")
	add.Flags().StringVar(&u.Name, "name", "", "display name")
	add.Flags().StringVar(&u.Role, "role", "", "auditor, reviewer, supervisor or admin")
	add.Flags().StringVar(&districts, "districts", "", "comma-separated 6-digit region codes the user may see, or *")
	add.Flags().StringVar(&u.ExpertID, "expert", "", "for reviewers: their expert id in the review panel")
	add.Flags().BoolVar(&stdin, "password-stdin", false, "read the password from standard input")

	var tdb dbFlags
	var tuser, label string
	token := &cobra.Command{
		Use:   "token --id USER [--label TEXT]",
		Short: "Issue an API token for a user (shown once)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return tdb.with(cmd, false, func(d *pipeline.DB) error {
				tok, err := auth.NewStore(d.DB, time.Now, auth.DefaultConfig()).CreateToken(cmd.Context(), tuser, label)
				if err != nil {
					return err
				}
				fmt.Fprintln(os.Stderr, "Store this token now; it is not shown again.")
				return printJSON(cmd, map[string]any{"user_id": tuser, "token": tok})
			})
		},
	}
	tdb.register(token)
	token.Flags().StringVar(&tuser, "id", "", "user id")
	token.Flags().StringVar(&label, "label", "api", "what the token is for")
	cmd.AddCommand(add, token)
	return cmd
}
