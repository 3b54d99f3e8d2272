/**
 * The hand-off part of the panel. One status model (status.js) drives the header,
 * the banner, the leave-a-message form and the "talk to a person" button, from the
 * server's last `status` and the connection's state.
 */

import { leaveMessageForm } from "./forms.js";
import { statusModel } from "./status.js";

export class HandoffPanel {
  /** `leave(values)` sends the form and returns the ack; `maxLength()` is the server's limit. */
  constructor({ t, view, leave, maxLength = () => 2000 }) {
    this.t = t;
    this.view = view;
    this.leave = leave;
    this.maxLength = maxLength;
    this.status = null;
    this.connection = "idle";
    this.form = null;
  }

  model() {
    return statusModel(this.status, this.connection, this.t);
  }

  setConnection(state) {
    this.connection = state;
    this.view.setConnection(state);
    this.view.setHeader(this.model().header);
  }

  /**
   * Show `status` in the chat's `phase` ("chat", "ended", "rated"). `email` and `said`
   * (the shopper's last messages) fill the leave-a-message form when it appears.
   */
  apply(status, phase, { email = "", said = [] } = {}) {
    this.status = status;
    const model = this.model();
    this.view.setHeader(model.header);
    this.view.setBanner(phase === "chat" ? model.banner : null);
    const offer = model.offerLeave && phase === "chat";
    if (offer && !this.form) {
      this.form = leaveMessageForm({ t: this.t, email, text: said.join("\n"), onSubmit: this.leave, maxLength: this.maxLength() });
      this.view.showForm(this.form, { focus: this.view.hasFocus() });
    } else if (!offer && this.form) {
      if (phase === "chat") this.view.showForm(null);
      this.form = null;
    }
    this.view.setPhase(phase, { handoff: model.canHandOff });
  }

  /** The chat ended or was forgotten: the form goes (the view shows what follows). */
  drop() {
    this.form = null;
  }
}
