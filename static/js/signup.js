// Signup helpers: show the age as the date of birth is typed, and preselect the browser's time zone.
(function () {
  const labels = JSON.parse((document.getElementById("signup-labels") || {}).textContent || "{}");

  const dob = document.getElementById("id_date_of_birth");
  const out = document.getElementById("age-display");
  if (dob && out) {
    const update = function () {
      const born = new Date(dob.value);
      if (!dob.value || isNaN(born)) { out.textContent = ""; return; }
      const now = new Date();
      let years = now.getFullYear() - born.getFullYear();
      const m = now.getMonth() - born.getMonth();
      if (m < 0 || (m === 0 && now.getDate() < born.getDate())) years--;
      out.textContent = years >= 0 && years < 130 ? labels.age.replace("%(years)s", years) : "";
    };
    dob.addEventListener("input", update);
    dob.addEventListener("change", update);
    update();
  }

  const tz = document.getElementById("id_timezone");
  if (tz && tz.value === "UTC" && window.Intl) {
    const guess = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (guess && Array.from(tz.options).some(function (o) { return o.value === guess; })) tz.value = guess;
  }
})();
