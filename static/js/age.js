// Shows the age next to the date-of-birth field as the patient types it.
(function () {
  const input = document.getElementById("id_date_of_birth");
  const out = document.getElementById("age-display");
  if (!input || !out) return;
  const label = JSON.parse(document.getElementById("age-labels").textContent).age;
  function update() {
    const dob = new Date(input.value);
    if (!input.value || isNaN(dob)) { out.textContent = ""; return; }
    const now = new Date();
    let years = now.getFullYear() - dob.getFullYear();
    const m = now.getMonth() - dob.getMonth();
    if (m < 0 || (m === 0 && now.getDate() < dob.getDate())) years--;
    out.textContent = years >= 0 && years < 130 ? label.replace("%(years)s", years) : "";
  }
  input.addEventListener("input", update);
  input.addEventListener("change", update);
  update();
})();
