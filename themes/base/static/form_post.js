// Submits the authorization response to the application (Form Post Response Mode).
document.getElementById("form-post").submit();
