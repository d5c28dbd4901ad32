package profile

import (
	"net/http"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/internal/webui"
)

// The deletion's confirmation step is post/redirect/get, like the security
// steps: POST /account/delete/start sends the code and keeps its challenge
// in the flow "delete"; GET /account/delete/start shows the code form, the
// same after a reload or the language switch; a GET of /account/delete (the
// form shown again with a wrong code, then switched to another language)
// goes back to it.

const (
	deleteFlow      = "delete"
	deleteStartPath = "/account/delete/start"
)

// deleteState is the confirmation in progress: the challenge of the code
// sent (none for the authenticator app), bound to the account.
type deleteState struct {
	Account   string `json:"account"`
	Challenge string `json:"challenge,omitempty"`
}

// goToDeleteStep keeps the confirmation step and shows it (303).
func (h *Handler) goToDeleteStep(w http.ResponseWriter, r *http.Request, a *account.Account, challenge string) {
	if err := h.Flows.Begin(w, r, deleteFlow, deleteState{Account: a.ID, Challenge: challenge}, securityFlowTTL); err != nil {
		h.internal(w, r, "keep deletion step", err)
		return
	}
	webui.Redirect(w, r, deleteStartPath)
}

// showDeleteStep shows the confirmation step in progress, or the data page
// when there is none.
func (h *Handler) showDeleteStep(w http.ResponseWriter, r *http.Request) {
	a, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	var st deleteState
	if _, _, err := h.Flows.FromRequest(r, deleteFlow, &st); err != nil || st.Account != a.ID {
		webui.Redirect(w, r, dataPath+langQuery(r))
		return
	}
	v := h.dataPage(r, a)
	method, to := deleteMethod(a)
	v.Step, v.Method, v.Masked, v.Challenge = "confirm", method, maskContact(method, to), st.Challenge
	h.render.Render(w, r, http.StatusOK, "data", v)
}

// toDeleteStep answers a GET of POST /account/delete.
func toDeleteStep(w http.ResponseWriter, r *http.Request) {
	webui.Redirect(w, r, deleteStartPath+langQuery(r))
}
